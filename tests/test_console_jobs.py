"""Console jobs: the script runs in a fresh kernel of the server, which stays alive after it."""
import asyncio
import time
from queue import Empty

import pytest

from conftest import wait_for_job

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server_api(jp_fetch):
    """Calls the Jupyter server's own REST API (kernels)."""
    import json

    async def call(method, path, body=None):
        kwargs = {"method": method, "raise_error": False}
        if body is not None or method == "POST":
            kwargs["body"] = json.dumps(body or {})
        response = await jp_fetch(*path.strip("/").split("/"), **kwargs)
        return response.code, json.loads(response.body) if response.body else None

    return call


async def evaluate(serverapp, kernel_id, expression, timeout=30):
    """Attaches a client to the kernel and returns ``repr(expression)`` as the kernel sees it."""
    client = serverapp.kernel_manager.get_kernel(kernel_id).client()
    client.start_channels(hb=False, stdin=False, control=False)
    try:
        await client.wait_for_ready(timeout=timeout)
        msg_id = client.execute("", user_expressions={"value": expression}, store_history=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reply = await client.get_shell_msg(timeout=1)
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                result = reply["content"]["user_expressions"]["value"]
                assert result["status"] == "ok", result
                return result["data"]["text/plain"]
        raise AssertionError("no reply from the console kernel")
    finally:
        client.stop_channels()


async def test_console_job_leaves_its_variables_in_a_live_kernel(jobs_api, write_script, jp_serverapp, jp_root_dir):
    write_script("proj/train.py", """
        import json, os, sys
        weights = [i * 2 for i in range(5)]
        for step, loss in enumerate([0.9, 0.5, 0.25]):
            print(json.dumps({"metric": "loss", "value": loss, "step": step}))
        print("argv", sys.argv[1:], "cwd", os.path.basename(os.getcwd()), "job", os.environ["MOMO_JOB_ID"])
        print("name", __name__)
        with open("results/out.txt", "w") as f:
            f.write("done")
        sys.exit(0)
    """)
    code, job = await jobs_api("POST", "jobs", {"script": "proj/train.py", "resource": "console", "args": ["--lr", "0.1"]})
    assert code == 201, job
    job = await wait_for_job(jobs_api, job["id"])
    assert job["status"] == "completed", job
    assert job["exit_code"] == 0 and job["kernel_id"]
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert f"argv ['--lr', '0.1'] cwd proj job {job['id']}" in log["text"]
    assert "name __main__" in log["text"]
    assert (jp_root_dir / "proj" / "results" / "out.txt").read_text() == "done"
    _, metrics = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "step"})
    assert metrics["series"][0]["y"] == [0.9, 0.5, 0.25]

    assert job["kernel_id"] in jp_serverapp.kernel_manager
    assert await evaluate(jp_serverapp, job["kernel_id"], "weights") == "[0, 2, 4, 6, 8]"

    code, _ = await jobs_api("DELETE", f"jobs/{job['id']}")
    assert code == 204
    assert job["kernel_id"] not in jp_serverapp.kernel_manager


async def test_failing_console_script_is_failed_with_its_traceback(jobs_api, write_script, jp_serverapp):
    write_script("bad.py", """
        partial = "kept"
        def inner():
            raise ValueError("boom")
        inner()
    """)
    _, job = await jobs_api("POST", "jobs", {"script": "bad.py", "resource": "console"})
    job = await wait_for_job(jobs_api, job["id"])
    assert job["status"] == "failed"
    assert job["reason"] == "ValueError: boom"
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log")
    assert "Traceback (most recent call last)" in log["text"]
    assert 'bad.py", line 5, in <module>' in log["text"] and "in inner" in log["text"]
    assert "__momo_job_run" not in log["text"]
    # What the script built before it failed can still be inspected.
    assert await evaluate(jp_serverapp, job["kernel_id"], "partial") == "'kept'"

    write_script("exit3.py", "import sys\nsys.exit(3)\n")
    _, job = await jobs_api("POST", "jobs", {"script": "exit3.py", "resource": "console"})
    job = await wait_for_job(jobs_api, job["id"])
    assert (job["status"], job["exit_code"], job["reason"]) == ("failed", 3, "exit code 3")


async def test_stop_interrupts_and_ends_the_kernel(jobs_api, write_script, jp_serverapp):
    write_script("slow.py", """
        import time
        print("started", flush=True)
        while True:
            time.sleep(0.05)
    """)
    _, job = await jobs_api("POST", "jobs", {"script": "slow.py", "resource": "console"})
    job_id = job["id"]
    deadline = time.monotonic() + 60
    while True:
        _, log = await jobs_api("GET", f"jobs/{job_id}/log")
        if "started" in log["text"]:
            break
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.1)
    _, job = await jobs_api("GET", f"jobs/{job_id}")
    kernel_id = job["kernel_id"]
    assert kernel_id in jp_serverapp.kernel_manager
    code, _ = await jobs_api("POST", f"jobs/{job_id}/stop")
    assert code == 202
    job = await wait_for_job(jobs_api, job_id)
    assert job["status"] == "stopped"
    assert kernel_id not in jp_serverapp.kernel_manager
    assert job["kernel_id"] is None
    _, log = await jobs_api("GET", f"jobs/{job_id}/log")
    assert "KeyboardInterrupt" in log["text"]


async def test_script_that_ignores_the_interrupt_is_ended_after_the_grace(jobs_api, write_script, jp_serverapp):
    write_script("stubborn.py", """
        import time
        print("started", flush=True)
        while True:
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                print("ignored")
    """)
    _, job = await jobs_api("POST", "jobs", {"script": "stubborn.py", "resource": "console"})
    await wait_for_job(jobs_api, job["id"], statuses=("running",))
    deadline = time.monotonic() + 60
    while "started" not in (await jobs_api("GET", f"jobs/{job['id']}/log"))[1]["text"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    kernel_id = (await jobs_api("GET", f"jobs/{job['id']}"))[1]["kernel_id"]
    started = time.monotonic()
    await jobs_api("POST", f"jobs/{job['id']}/stop")
    job = await wait_for_job(jobs_api, job["id"])
    assert job["status"] == "stopped"
    assert time.monotonic() - started < 15  # grace is 2 s in the test config
    assert kernel_id not in jp_serverapp.kernel_manager


@pytest.mark.parametrize("jp_server_config", [{"cpu_slots": 1}], indirect=True)
async def test_a_live_console_kernel_holds_a_cpu_slot(jobs_api, write_script, jp_serverapp, server_api):
    write_script("c.py", "x = 1\n")
    write_script("cpu.py", "print('ran')\n")
    _, console = await jobs_api("POST", "jobs", {"script": "c.py", "resource": "console"})
    console = await wait_for_job(jobs_api, console["id"])
    assert console["status"] == "completed"
    _, cpu = await jobs_api("POST", "jobs", {"script": "cpu.py"})
    await asyncio.sleep(0.5)
    _, cpu = await jobs_api("GET", f"jobs/{cpu['id']}")
    assert (cpu["status"], cpu["queue_position"]) == ("queued", 1)
    _, resources = await jobs_api("GET", "resources")
    assert resources["cpu_slots"] == {"total": 1, "used": 1}

    # The user shuts the kernel down (JupyterLab's Running panel): the slot frees.
    code, _ = await server_api("DELETE", f"api/kernels/{console['kernel_id']}")
    assert code == 204
    cpu = await wait_for_job(jobs_api, cpu["id"], timeout=30)
    assert cpu["status"] == "completed"
    _, console = await jobs_api("GET", f"jobs/{console['id']}")
    assert console["kernel_id"] is None


@pytest.mark.parametrize("jp_server_config", [{"console_idle_seconds": 1.0}], indirect=True)
async def test_idle_finished_kernel_is_shut_down(jobs_api, write_script, jp_serverapp):
    write_script("quick.py", "answer = 42\n")
    _, job = await jobs_api("POST", "jobs", {"script": "quick.py", "resource": "console"})
    job = await wait_for_job(jobs_api, job["id"])
    kernel_id = job["kernel_id"]
    assert kernel_id
    deadline = time.monotonic() + 20
    while kernel_id in jp_serverapp.kernel_manager:
        assert time.monotonic() < deadline, "the idle kernel is still alive"
        await asyncio.sleep(0.2)
    _, job = await jobs_api("GET", f"jobs/{job['id']}")
    assert job["status"] == "completed" and job["kernel_id"] is None


def test_running_console_job_fails_with_the_server(server_process, tmp_path):
    server = server_process()
    (server.root / "quick.py").write_text("x = 1\n")
    (server.root / "long.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(600)\n")
    client = server.client()
    done = client.wait(client.submit(server.root / "quick.py", resource="console")["id"], timeout=60)
    assert done["status"] == "completed" and done["kernel_id"]
    job = client.submit(server.root / "long.py", resource="console")
    deadline = time.monotonic() + 60
    while "up" not in client.log(job["id"])["text"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server.kill9()
    server.start()
    job = server.client().wait(job["id"], timeout=30)
    assert job["status"] == "failed"
    assert job["reason"] == "its console kernel ended with the server"
    assert job["kernel_id"] is None
    # A finished job's kernel went with the server too: its Job no longer names it.
    assert server.client().get(done["id"])["kernel_id"] is None
