"""The submit options of the ``momo-jobs`` command line and of ``%job``/``%%job``: the
same flags, read the same way."""
from __future__ import annotations

import argparse

from ..vocabulary import Resource


def split_script_args(words: list[str]) -> tuple[list[str], list[str]]:
    """(our words, the script's arguments): the script's come after the first ``--``."""
    if "--" in words:
        cut = words.index("--")
        return words[:cut], words[cut + 1:]
    return words, []


def add_submit_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--gpu", nargs="?", type=int, const=1, metavar="N", help="run on N whole GPUs (default 1)")
    where.add_argument("--cpu", action="store_true", help="run on a CPU slot (the default)")
    where.add_argument("--console", action="store_true", help="run in a fresh kernel that stays alive for inspection")
    parser.add_argument("--name", help="the job's name")
    parser.add_argument("--kernel", help="kernelspec whose Python runs the job (default: the server's)")
    parser.add_argument("--env", action="append", metavar="KEY=VALUE", help="an environment variable (repeatable)")


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` words as a dict; ValueError for one without ``=`` or without a key."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--env takes KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def submit_kwargs(options: argparse.Namespace) -> dict:
    """The parsed submit options as keyword arguments of ``JobsClient.submit`` (all but the script's args)."""
    if options.gpu is not None:
        resource = Resource.GPU.value
    elif options.console:
        resource = Resource.CONSOLE.value
    else:
        resource = Resource.CPU.value
    return {"resource": resource, "gpus": options.gpu, "name": options.name,
            "env": parse_env(options.env or []) or None, "kernel": options.kernel}
