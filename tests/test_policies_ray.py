"""Time limits and retries on a real local Ray head: the server keeps the limit (Ray's
stop at the deadline), the warning signal comes from the job's entrypoint on the node,
and a retried attempt is a new Ray submission under the same momo job."""
from pathlib import Path

import pytest

from conftest import wait_for_job
from ray_head import ray_head  # noqa: F401  (session fixture)
from test_policies import RESUMER

pytestmark = pytest.mark.timeout(300)

WARNED = """
import os, signal, sys, time
def warned(signum, frame):
    open(os.path.join(os.environ["MOMO_CHECKPOINT_DIR"], "warned.txt"), "w").write(signal.Signals(signum).name)
signal.signal(signal.SIGUSR1, warned)
print("up", flush=True)
time.sleep(120)
"""




@pytest.fixture
def momo_config(ray_head):  # noqa: F811
    return {"backend": "ray", "ray_address": ray_head.address, "gpus": "", "stop_grace_seconds": 2.0}


async def test_ray_jobs_keep_their_time_limit_and_retry_from_their_checkpoint(jobs_api, write_script, jp_serverapp):
    limited = write_script("ray/warned.py", WARNED)
    flaky = write_script("ray/flaky.py", RESUMER)
    code, retried = await jobs_api("POST", "jobs", {"script": flaky, "retries": 2})
    assert code == 201, retried
    retried = await wait_for_job(jobs_api, retried["id"], timeout=240)
    assert retried["status"] == "completed" and retried["attempt"] == 2 and retried["backend"] == "ray", retried
    assert [a["exit_code"] for a in retried["attempts"]] == [3, 0]
    _, log = await jobs_api("GET", f"jobs/{retried['id']}/log")
    text = log["text"]
    assert text.count("attempt 1 resumes at epoch 0") == 1 and text.count("attempt 2 resumes at epoch 2") == 1, text
    assert text.index("attempt 1 resumes") < text.index("attempt 2 of 3 follows") < text.index("done")
    _, metrics = await jobs_api("GET", f"jobs/{retried['id']}/metrics", params={"x": "epoch"})
    assert metrics["series"][0]["x"] == [0, 1, 2, 3] and metrics["series"][0]["attempt_starts"] == [
        {"attempt": 2, "x": 2}]
    # The limit counts from the server's launch, Ray's start of the job included: with the
    # cluster warm (the job above), the script is up well before its warning.
    code, slow = await jobs_api("POST", "jobs", {"script": limited, "time_limit": 20, "time_limit_signal": "USR1@10"})
    assert code == 201, slow
    slow = await wait_for_job(jobs_api, slow["id"], timeout=240)
    assert slow["status"] == "failed" and slow["reason"].startswith("time limit"), slow
    # The head runs on this machine, so the job folder's checkpoint dir is the node's too.
    jobs_dir = Path(jp_serverapp.web_app.settings["momo_jobs_service"].jobs_dir)
    warned = jobs_dir / slow["id"] / "checkpoint" / "warned.txt"
    _, log = await jobs_api("GET", f"jobs/{slow['id']}/log")
    assert warned.exists() and warned.read_text() == "SIGUSR1", (log["text"], (jobs_dir / slow["id"] / "job.json").read_text())
