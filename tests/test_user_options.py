"""The submit options shared by the command line and the magics."""
import argparse

import pytest

from momo_jobs.user import cli
from momo_jobs.user.options import add_submit_options, parse_env, split_script_args, submit_kwargs


def parse(*words):
    parser = argparse.ArgumentParser()
    add_submit_options(parser)
    return parser.parse_args(words)


def test_script_arguments_come_after_the_first_double_dash():
    assert split_script_args(["submit", "t.py", "--", "--lr", "--", "x"]) == (["submit", "t.py"], ["--lr", "--", "x"])
    assert split_script_args(["list"]) == (["list"], [])


@pytest.mark.parametrize("words, expected", [
    ((), {"resource": "cpu", "gpus": None}),
    (("--cpu",), {"resource": "cpu", "gpus": None}),
    (("--gpu",), {"resource": "gpu", "gpus": 1}),
    (("--gpu", "2"), {"resource": "gpu", "gpus": 2}),
    (("--console",), {"resource": "console", "gpus": None}),
])
def test_where_a_job_runs(words, expected):
    kwargs = submit_kwargs(parse(*words))
    assert {k: kwargs[k] for k in expected} == expected


def test_name_kernel_and_env():
    kwargs = submit_kwargs(parse("--name", "a", "--kernel", "py", "--env", "A=1", "--env", "B=x=y", "--env", "C="))
    assert kwargs == {"resource": "cpu", "gpus": None, "name": "a", "kernel": "py",
                      "env": {"A": "1", "B": "x=y", "C": ""}}
    assert submit_kwargs(parse())["env"] is None


@pytest.mark.parametrize("pair", ["A", "=1", ""])
def test_env_needs_a_key_and_an_equals_sign(pair):
    with pytest.raises(ValueError, match=f"--env takes KEY=VALUE, not {pair!r}"):
        parse_env(["A=1", pair])


@pytest.mark.parametrize("pair", ["A", "=1"])
def test_the_command_line_refuses_a_bad_env_before_submitting(pair, monkeypatch, capsys):
    monkeypatch.setenv("MOMO_JOBS_URL", "http://127.0.0.1:9/")  # never reached
    assert cli.main(["submit", "train.py", "--env", pair]) == 2
    assert capsys.readouterr().err == f"momo-jobs: --env takes KEY=VALUE, not {pair!r}\n"
