"""Time limits and retries of console jobs, whose limit the server keeps (from the
deadline in the store): warning signal to the kernel, then the stop, then `failed`."""
from pathlib import Path

import pytest

from conftest import wait_for_job

pytestmark = pytest.mark.timeout(120)

WARNED = """
import signal, time
def warned(signum, frame):
    open("console-warned.txt", "w").write(signal.Signals(signum).name)
signal.signal(signal.SIGUSR1, warned)
print("up", flush=True)
for _ in range(600):
    time.sleep(0.1)
"""

FLAKY = """
import os, sys
mark = os.path.join(os.environ["MOMO_CHECKPOINT_DIR"], "mark")
print("attempt", os.environ["MOMO_ATTEMPT"], flush=True)
if not os.path.exists(mark):
    open(mark, "w").close()
    sys.exit(4)
print("resumed", flush=True)
"""


async def test_a_console_job_is_warned_then_stopped_by_its_time_limit(jobs_api, write_script, jp_root_dir):
    rel = write_script("console/warned.py", WARNED)
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "console", "time_limit": 6,
                                                "time_limit_signal": "USR1@3"})
    assert code == 201, job
    job = await wait_for_job(jobs_api, job["id"], timeout=60)
    assert job["status"] == "failed" and job["reason"].startswith("time limit"), job
    assert (Path(jp_root_dir) / "console" / "console-warned.txt").read_text() == "SIGUSR1"


async def test_a_console_job_is_retried_in_a_fresh_kernel(jobs_api, write_script):
    rel = write_script("console/flaky.py", FLAKY)
    code, job = await jobs_api("POST", "jobs", {"script": rel, "resource": "console", "retries": 1})
    assert code == 201, job
    job = await wait_for_job(jobs_api, job["id"], timeout=90)
    assert job["status"] == "completed" and job["attempt"] == 2, job
    assert [a["exit_code"] for a in job["attempts"]] == [4, 0]
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert log["text"].index("attempt 1") < log["text"].index("attempt 2 of 2 follows") \
        < log["text"].index("attempt 2\n") < log["text"].index("resumed")
