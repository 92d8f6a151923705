"""The momo-jobs command line against a real server in another process."""
import subprocess
import sys
import time

import pytest


def cli(server, *args, timeout=90):
    return subprocess.run([sys.executable, "-m", "momo_jobs.user.cli", *args], capture_output=True, text=True,
                          env=server.client_env(), cwd=server.root, timeout=timeout)


@pytest.fixture(scope="module")
def server(module_server_process):
    server = module_server_process()
    (server.root / "train.py").write_text(
        "import sys, time\n"
        "print('args', sys.argv[1:])\n"
        "for step in range(3):\n"
        "    print('{\"metric\": \"loss\", \"value\": %s, \"step\": %d}' % (1 / (step + 1), step))\n"
        "print('{\"metric\": \"stage\", \"value\": \"done\"}')\n"
        "sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)\n")
    (server.root / "slow.py").write_text("import time\nprint('slow start', flush=True)\ntime.sleep(60)\n")
    return server


def test_submit_follow_list_logs_metrics(server):
    run = cli(server, "submit", "train.py", "--cpu", "--name", "cli-job", "--follow", "--", "0", "x")
    assert run.returncode == 0, run.stderr
    assert "args ['0', 'x']" in run.stdout and '"value": 1.0, "step": 0}' in run.stdout
    assert "completed" in run.stderr

    listing = cli(server, "list")
    assert listing.returncode == 0
    header, *rows = listing.stdout.splitlines()
    (row,) = [r for r in rows if "\tcli-job\t" in r]
    assert header.startswith("ID\tNAME\tSTATUS") and "\tcli-job\tcompleted\tcpu\t" in row
    job_id = row.split("\t")[0]

    logs = cli(server, "logs", job_id)
    assert logs.stdout.startswith("args ['0', 'x']\n") and logs.stdout.count("metric") == 4

    metrics = cli(server, "metrics", job_id, "--x", "step")
    assert metrics.returncode == 0
    # the points as a chart has them (15 significant digits); --csv gives them exactly
    assert "# loss (3 points, x = step)\n0\t1.0\n1\t0.5\n2\t0.333333333333333\n" in metrics.stdout
    assert '# stage at' in metrics.stdout and '"done"' in metrics.stdout

    csv = cli(server, "metrics", job_id, "--csv").stdout.splitlines()
    assert csv[0] == "metric,time,elapsed,step,epoch,value" and len(csv) == 5
    assert csv[1].startswith("loss,") and csv[1].endswith(",0,,1.0")

    shown = cli(server, "show", job_id).stdout
    assert f"id: {job_id}" in shown and "status: completed" in shown


def test_follow_exits_with_the_jobs_exit_code(server):
    run = cli(server, "submit", "train.py", "--follow", "--", "7")
    assert run.returncode == 7 and "failed: exit code 7" in run.stderr


def test_stop_and_rerun(server):
    submit = cli(server, "submit", "slow.py")
    job_id = submit.stdout.strip()
    deadline = time.monotonic() + 30
    while "slow start" not in cli(server, "logs", job_id).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert cli(server, "stop", job_id).stdout.strip() == "stopping"
    follow = cli(server, "logs", job_id, "--follow")
    assert follow.stdout == "slow start\n" and "stopped" in follow.stderr
    rerun = cli(server, "rerun", job_id)
    assert rerun.returncode == 0 and rerun.stdout.strip() != job_id
    cli(server, "stop", rerun.stdout.strip())


def test_errors_are_one_line_and_non_zero(server, tmp_path):
    unknown = cli(server, "show", "nope")
    assert unknown.returncode == 2 and unknown.stderr == "momo-jobs: no job 'nope' (HTTP 404)\n"
    gpu = cli(server, "submit", "train.py", "--gpu")
    assert gpu.returncode == 2 and "no GPUs" in gpu.stderr and len(gpu.stderr.splitlines()) == 1
    env = {**server.client_env(), "MOMO_JOBS_URL": "http://127.0.0.1:9/"}
    down = subprocess.run([sys.executable, "-m", "momo_jobs.user.cli", "list"], capture_output=True, text=True, env=env)
    assert down.returncode == 2 and down.stderr.startswith("momo-jobs: cannot reach the momo-jobs server")


def test_server_found_from_jupyter_runtime_files(server):
    env = {k: v for k, v in server.client_env().items() if not k.startswith("MOMO_JOBS_")}
    run = subprocess.run([sys.executable, "-m", "momo_jobs.user.cli", "submit", "train.py", "--follow"],
                         capture_output=True, text=True, env=env, cwd=server.root, timeout=90)
    assert run.returncode == 0 and "args []" in run.stdout, run.stderr


def test_compare_shows_params_best_values_and_which_run_is_best(server):
    (server.root / "fit.py").write_text(
        "import sys\n"
        "from momo_jobs import log_metric, log_param\n"
        "lr = float(sys.argv[2])\n"
        "log_param('optimizer', 'sgd')\n"
        "for step in range(4):\n"
        "    log_metric('val_loss', 1.0 / (1 + step * lr), step=step)\n")
    ids = [cli(server, "submit", "fit.py", "--name", f"lr{lr}", "--", "--lr", lr).stdout.strip() for lr in ("0.1", "2")]
    for job_id in ids:
        assert server.client().wait(job_id, timeout=60)["status"] == "completed"
    table = cli(server, "compare", *ids)
    assert table.returncode == 0, table.stderr
    header, first, second, same, best = table.stdout.splitlines()
    for column in ("param lr", "val_loss best", "val_loss best step", "peak cpu %", "peak rss MiB"):
        assert column in header
    assert "param optimizer" not in header and same == "same in every run: optimizer=sgd"
    assert first.startswith(ids[0]) and "0.1" in first
    assert best.startswith(f"best: lr2 [{ids[1]}], lowest val_loss 0.142857 at step 3") and "lr=2" in best
    as_csv = cli(server, "compare", *ids, "--csv", "--metric", "val_loss").stdout.splitlines()
    assert as_csv[0].startswith("id,name,status,duration_s,param lr,param optimizer,val_loss best,")
    assert len(as_csv) == 3 and as_csv[2].startswith(f"{ids[1]},lr2,completed,")
    missing = cli(server, "compare", ids[0], "nope")
    assert missing.returncode == 2 and "no job nope" in missing.stderr
