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
                      "env": {"A": "1", "B": "x=y", "C": ""}, "time_limit": None, "time_limit_signal": None,
                      "retries": None, "retry_on_time_limit": None}
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


@pytest.mark.parametrize("text, seconds", [("2h30m", 9000), ("90s", 90), ("45", 45), ("1d", 86400),
                                           ("1m30s", 90), ("0.5", 0.5), ("1.5h", 5400)])
def test_a_time_limit_is_written_as_a_duration(text, seconds):
    from momo_jobs.user.options import parse_duration

    assert parse_duration(text) == seconds
    assert submit_kwargs(parse("--time", text))["time_limit"] == seconds


@pytest.mark.parametrize("text", ["", "2x", "h", "1h 2", "-5m"])
def test_a_bad_duration_is_refused(text):
    from momo_jobs.user.options import parse_duration

    with pytest.raises(ValueError):
        parse_duration(text)


def test_policy_options():
    kwargs = submit_kwargs(parse("--time", "1h", "--time-signal", "USR1@5m", "--retries", "2",
                                 "--retry-on-time-limit"))
    assert (kwargs["time_limit"], kwargs["time_limit_signal"], kwargs["retries"], kwargs["retry_on_time_limit"]) == (
        3600, "USR1@300", 2, True)
    plain = submit_kwargs(parse())
    assert plain["time_limit"] is None and plain["retries"] is None and plain["retry_on_time_limit"] is None


def test_sweep_options_make_a_grid():
    from momo_jobs.user.options import add_sweep_options, sweep_kwargs

    parser = argparse.ArgumentParser()
    add_submit_options(parser)
    add_sweep_options(parser)
    kwargs = sweep_kwargs(parser.parse_args(["--grid", "lr=0.1,0.01", "--grid", "batch_size=64,128",
                                             "--max-parallel", "2", "--gpu"]))
    assert kwargs["grid"] == {"lr": ["0.1", "0.01"], "batch_size": ["64", "128"]}
    assert kwargs["max_parallel"] == 2 and kwargs["resource"] == "gpu"
    with pytest.raises(ValueError, match="NAME=V1"):
        sweep_kwargs(parser.parse_args(["--grid", "lr"]))
