"""%job and %%job, driven through a real kernel against a real server (subprocesses)."""
import ast
import json
import time
import urllib.request
from pathlib import Path
from queue import Empty

import pytest
from jupyter_client import BlockingKernelClient, KernelManager

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def server(module_server_process):
    return module_server_process()


class Kernel:
    """A kernel client that runs cells and keeps every iopub message it sees."""

    def __init__(self, client):
        self.client = client
        self.messages = []

    def _drain(self, timeout):
        try:
            msg = self.client.get_iopub_msg(timeout=timeout)
        except Empty:
            return None
        self.messages.append(msg)
        return msg

    def run(self, code, timeout=60):
        """Runs a cell; returns (reply content, this cell's outputs)."""
        start = len(self.messages)
        msg_id = self.client.execute(code)
        deadline = time.monotonic() + timeout
        reply = None
        while True:
            assert time.monotonic() < deadline, f"cell did not finish: {code}"
            if reply is None:
                try:
                    candidate = self.client.get_shell_msg(timeout=0.05)
                    if candidate["parent_header"].get("msg_id") == msg_id:
                        reply = candidate["content"]
                except Empty:
                    pass
            msg = self._drain(0.05)
            if (reply is not None and msg is None and any(
                    m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                    and m["parent_header"].get("msg_id") == msg_id for m in self.messages[start:])):
                break
        outputs = [m for m in self.messages[start:] if m["parent_header"].get("msg_id") == msg_id
                   and m["msg_type"] not in ("status", "execute_input")]
        return reply, outputs

    def value(self, expression):
        reply, _ = self.run(f"__v = {expression}")
        assert reply["status"] == "ok", reply
        msg_id = self.client.execute("", user_expressions={"v": "__v"})
        while True:
            msg = self.client.get_shell_msg(timeout=30)
            if msg["parent_header"].get("msg_id") == msg_id:
                return ast.literal_eval(msg["content"]["user_expressions"]["v"]["data"]["text/plain"])

    def wait_for(self, predicate, timeout=30):
        """Reads iopub until a message (from any cell or thread) satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        for msg in self.messages:
            if predicate(msg):
                return msg
        while time.monotonic() < deadline:
            msg = self._drain(0.2)
            if msg is not None and predicate(msg):
                return msg
        raise AssertionError("no such message")


def text_of(outputs):
    parts = []
    for m in outputs:
        c = m["content"]
        if m["msg_type"] == "stream":
            parts.append(c["text"])
        elif m["msg_type"] in ("display_data", "execute_result", "update_display_data"):
            parts.append(c["data"].get("text/plain", ""))
        elif m["msg_type"] == "error":
            parts.append("\n".join(c["traceback"]))
    return "\n".join(parts)


def start_kernel(env, cwd):
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, Kernel(client)


@pytest.fixture(scope="module")
def kernel(server):
    manager, kernel = start_kernel(server.client_env(), server.root)
    kernel.manager = manager
    reply, _ = kernel.run("%load_ext momo_jobs")
    assert reply["status"] == "ok"
    yield kernel
    kernel.client.stop_channels()
    manager.shutdown_kernel(now=True)


def write(server, rel, source):
    path = server.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return rel


def is_update(text):
    return lambda m: m["msg_type"] == "update_display_data" and text in m["content"]["data"].get("text/plain", "")


def test_submit_shows_a_live_status_line_and_wait_status_logs(server, kernel):
    write(server, "train.py", "import sys, time\nprint('hello', sys.argv[1:])\ntime.sleep(1.5)\nprint('bye')\n")
    reply, outputs = kernel.run("job = %job submit train.py --name first -- --epochs 3")
    assert reply["status"] == "ok", text_of(outputs)
    shown = [m for m in outputs if m["msg_type"] == "display_data"]
    assert len(shown) == 1, outputs  # the live line, and no second copy of the job
    display_id = shown[0]["content"]["transient"]["display_id"]
    job_id = kernel.value("job['id']")
    assert kernel.value("job.name") == "first"
    assert f"[{job_id}]" in shown[0]["content"]["data"]["text/plain"]

    # The cell is over, the kernel free; the line turns to completed by itself.
    assert kernel.value("1 + 1") == 2
    update = kernel.wait_for(lambda m: m["msg_type"] == "update_display_data"
                             and m["content"]["transient"]["display_id"] == display_id
                             and "completed" in m["content"]["data"]["text/plain"], timeout=30)
    assert "✔ first" in update["content"]["data"]["text/plain"]

    reply, outputs = kernel.run("done = %job wait")
    assert kernel.value("done['status']") == "completed"
    reply, outputs = kernel.run(f"%job status {job_id}")
    assert "completed after" in text_of(outputs)
    reply, outputs = kernel.run(f"%job logs {job_id[:6]}")
    assert "hello ['--epochs', '3']\nbye\n" in text_of(outputs)
    reply, outputs = kernel.run("%job logs first --tail 1")
    assert text_of(outputs) == "bye\n"
    reply, outputs = kernel.run("jobs = %job list")
    assert kernel.value("list(jobs.index)[:1]") == [job_id]
    reply, outputs = kernel.run("import momo_jobs.user.magics\nmomo_jobs.user.magics.SHOWN_LOG_CHARS = 4\n%job logs first")
    kernel.run("momo_jobs.user.magics.SHOWN_LOG_CHARS = 2 << 20")
    assert text_of(outputs) == f"[24 earlier characters left out; %job logs {job_id} --all shows them]\nbye\n"
    reply, outputs = kernel.run("%job resources")
    assert "CPU slots" in text_of(outputs) and "GPUs: none" in text_of(outputs)


def test_logs_follow_streams_until_the_job_ends(server, kernel):
    write(server, "chatty.py", "import time\nfor i in range(4):\n    print('line', i, flush=True)\n    time.sleep(0.3)\n")
    reply, outputs = kernel.run("%job submit chatty.py -q\n%job logs --follow")
    assert reply["status"] == "ok", text_of(outputs)
    text = "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream")
    assert "line 0\nline 1\nline 2\nline 3\n" in text and "completed after" in text


def test_wait_follows_progress_and_stop_ends_the_job(server, kernel):
    write(server, "forever.py", "import time\nfor i in range(10**6):\n    print('tick', i, flush=True)\n    time.sleep(0.2)\n")
    kernel.run("j = %job submit forever.py -q")
    job_id = kernel.value("j.id")
    reply, outputs = kernel.run("w = %job wait --timeout 2")
    assert kernel.value("w.status") == "running"
    assert any("tick" in m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "update_display_data")
    # Interrupting a wait detaches from the job without stopping it.
    msg_id = kernel.client.execute("w2 = %job wait")
    time.sleep(1.0)
    kernel.manager.interrupt_kernel()
    reply = kernel.wait_for(lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                            and m["parent_header"].get("msg_id") == msg_id)
    assert kernel.client.get_shell_msg(timeout=10)["content"]["status"] == "ok"
    assert "detached" in kernel.value("__import__('momo_jobs.user.magics').user.magics.status_text(w2, 'detached')")
    assert server.client().get(job_id)["status"] == "running"
    reply, outputs = kernel.run(f"%job stop {job_id}")
    assert "stopping" in text_of(outputs) or "stopped" in text_of(outputs)
    kernel.run(f"s = %job wait {job_id}")
    assert kernel.value("s.status") == "stopped"


def test_metrics_bundle_holds_the_points_and_refreshes(server, kernel):
    write(server, "metrics.py", """
import json, time
for step in range(3):
    print(json.dumps({"metric": "loss", "value": 1.0 / (step + 1), "step": step}), flush=True)
    print(json.dumps({"metric": "acc", "value": step / 10, "step": step}), flush=True)
time.sleep(1.0)
for step in range(3, 5):
    print(json.dumps({"metric": "loss", "value": 1.0 / (step + 1), "step": step}), flush=True)
time.sleep(2.5)
""")
    kernel.run("m = %job submit metrics.py -q")
    job_id = kernel.value("m.id")
    deadline = time.monotonic() + 30
    while True:  # until the first points are in
        points = server.client().metrics(job_id, x="step")
        if len(points["series"]) == 2:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    reply, outputs = kernel.run(f"df = %job metrics {job_id} --x step")
    assert reply["status"] == "ok", text_of(outputs)
    chart = [m for m in outputs if m["msg_type"] == "display_data"][0]["content"]
    spec = chart["data"]["application/vnd.vegalite.v5+json"]
    values = spec["data"]["values"]
    assert {(v["metric"], v["x"], v["value"]) for v in values if v["metric"] == "acc"} == {
        ("acc", 0, 0.0), ("acc", 1, 0.1), ("acc", 2, 0.2)}
    assert spec["facet"]["field"] == "metric" and spec["spec"]["encoding"]["x"]["title"] == "step"
    assert kernel.value("sorted(df.columns)") == ["elapsed", "epoch", "metric", "step", "time", "value"]

    # While the job runs the chart is redrawn with the new points.
    display_id = chart["transient"]["display_id"]
    update = kernel.wait_for(lambda m: m["msg_type"] == "update_display_data"
                             and m["content"]["transient"]["display_id"] == display_id
                             and sum(v["metric"] == "loss" for v in
                                     m["content"]["data"]["application/vnd.vegalite.v5+json"]["data"]["values"]) == 5)
    assert update
    reply, outputs = kernel.run(f"%job metrics {job_id} loss --x step --no-refresh")
    spec = [m for m in outputs if m["msg_type"] == "display_data"][0]["content"]["data"]["application/vnd.vegalite.v5+json"]
    assert "facet" not in spec and {v["metric"] for v in spec["data"]["values"]} == {"loss"}


def test_cell_magic_submits_the_cell(server, kernel):
    reply, outputs = kernel.run("%%job --name from-cell -- a b\nimport sys\nprint('cell ran with', sys.argv[1:])\n")
    assert reply["status"] == "ok", text_of(outputs)
    kernel.run("c = %job wait")
    assert kernel.value("c.status") == "completed"
    assert kernel.value("c.name") == "from-cell"
    reply, outputs = kernel.run("%job logs")
    assert "cell ran with ['a', 'b']" in text_of(outputs)
    assert not list(server.root.glob(".job-cell-*"))  # the cell's file went once snapshotted

    # The job's snapshot stays; a rerun runs the same cell again.
    reply, outputs = kernel.run("r = %job rerun")
    kernel.run("r2 = %job wait")
    assert kernel.value("r2.status") == "completed" and kernel.value("r2.id") != kernel.value("c.id")

    reply, outputs = kernel.run("%%job --console\nmodel = {'weights': [1, 2]}\n")
    kernel.run("k = %job wait")
    assert kernel.value("k.status") == "completed" and kernel.value("k.resource") == "console"
    assert kernel.value("k.kernel_id") in {k["id"] for k in server_request(server, "GET", "api/kernels")}
    assert "alive" in kernel.value("__import__('momo_jobs.user.magics').user.magics.status_text(k)")
    server.client().delete(kernel.value("k.id"))  # its kernel would hold a CPU slot


@pytest.mark.parametrize("line, message", [
    ("%job", "%job needs a command"),
    ("%job bogus", "invalid choice: 'bogus'"),
    ("%job submit", "the following arguments are required: SCRIPT"),
    ("%job submit train.py --gpu two", "invalid int value: 'two'"),
    ("%job submit train.py --cpu --console", "not allowed with argument"),
    ("%job metrics x --x month", "invalid choice: 'month'"),
    ("%job list -- x", "only for submit"),
    ("%job submit 'unclosed", "No closing quotation"),
])
def test_bad_arguments_give_one_clear_message(kernel, line, message):
    reply, outputs = kernel.run(line)
    assert reply["status"] == "error"
    assert reply["ename"] == "UsageError"
    assert message in reply["evalue"]
    assert "Traceback" not in text_of(outputs)


def test_api_errors_and_an_unreachable_server_are_one_line(kernel):
    reply, outputs = kernel.run("%job submit missing.py")
    assert reply["status"] == "error" and "missing.py" in reply["evalue"]
    assert text_of(outputs).count("\n") == 0 and "Traceback" not in text_of(outputs)
    reply, outputs = kernel.run("%job status nosuchjob")
    assert "no job 'nosuchjob'" in reply["evalue"]
    reply, outputs = kernel.run("%job submit train.py --gpu")
    assert "no GPUs" in reply["evalue"]

    reply, outputs = kernel.run("import os\nsaved = os.environ['MOMO_JOBS_URL']\n"
                                "os.environ['MOMO_JOBS_URL'] = 'http://127.0.0.1:9/'\n%job list")
    try:
        assert reply["status"] == "error"
        assert "cannot reach the momo-jobs server at http://127.0.0.1:9/" in text_of(outputs)
        assert "Traceback" not in text_of(outputs)
    finally:
        kernel.run("os.environ['MOMO_JOBS_URL'] = saved")
    reply, outputs = kernel.run("%job list")
    assert reply["status"] == "ok"


def test_server_root_from_its_runtime_file(server, kernel):
    """With MOMO_JOBS_URL alone, local paths still map to the server's root."""
    write(server, "sub/here.py", "print('from sub')\n")
    reply, outputs = kernel.run("import os\nroot = os.environ.pop('MOMO_JOBS_ROOT')\nos.chdir('sub')\n"
                                "h = %job submit here.py -q")
    try:
        assert reply["status"] == "ok", text_of(outputs)
        assert kernel.value("h.script") == "sub/here.py"
    finally:
        kernel.run("os.environ['MOMO_JOBS_ROOT'] = root\nos.chdir('..')")
    kernel.run("%job wait")


def test_help(kernel):
    reply, outputs = kernel.run("%job --help")
    assert reply["status"] == "ok"
    assert all(c in text_of(outputs) for c in ("submit", "wait", "metrics", "export"))
    reply, outputs = kernel.run("%job submit --help")
    assert "--console" in text_of(outputs) and "SCRIPT" in text_of(outputs)


def server_request(server, method, path, body=None):
    request = urllib.request.Request(server.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", f"token {server.token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_until_connected(client, timeout=60):
    """Waits until the kernel answers on shell *and* this client hears it on iopub.

    Not ``wait_for_ready``: with no manager it reads a slow heartbeat as death. A
    shell reply alone is not enough either: the iopub subscription is set up
    asynchronously, and a cell run before it is would publish its outputs and its
    idle status to nobody."""
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, "the kernel does not answer on shell and iopub"
        msg_id = client.kernel_info()
        try:
            reply = client.get_shell_msg(timeout=2)
        except Empty:
            continue
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        try:
            client.get_iopub_msg(timeout=0.5)
        except Empty:
            continue
        while True:  # leave iopub empty for the first cell
            try:
                client.get_iopub_msg(timeout=0.2)
            except Empty:
                return


def test_notebook_kernel_finds_its_server_and_submits_its_notebook(server):
    """A kernel that the server started for a notebook, with no MOMO_JOBS_URL: the
    magics find the server from the runtime files and the notebook from the sessions."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext momo_jobs"),
        nbformat.v4.new_code_cell("value = 6 * 7\nprint('notebook says', value)"),
        nbformat.v4.new_code_cell("%job submit ."),
    ])
    (server.root / "nbs").mkdir(exist_ok=True)
    nbformat.write(nb, server.root / "nbs" / "Train.ipynb")
    session = server_request(server, "POST", "api/sessions",
                             {"path": "nbs/Train.ipynb", "type": "notebook", "kernel": {"name": "python3"}})
    kernel_id = session["kernel"]["id"]
    client = BlockingKernelClient()
    client.load_connection_file(str(Path(server.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"))
    client.start_channels()
    try:
        wait_until_connected(client)
        kernel = Kernel(client)
        kernel.run("%load_ext momo_jobs")
        assert kernel.value("__import__('os').environ.get('MOMO_JOBS_URL')") is None
        reply, outputs = kernel.run("nbjob = %job submit .")
        assert reply["status"] == "ok", text_of(outputs)
        assert "the notebook as last saved" in text_of(outputs)
        kernel.run("nbdone = %job wait")
        assert kernel.value("nbdone.status") == "completed"
        assert kernel.value("nbdone.script") == "nbs/Train.ipynb"
        reply, outputs = kernel.run("%job logs")
        assert "notebook says 42" in text_of(outputs)

        reply, outputs = kernel.run("%job export")
        assert "exported Train.ipynb to nbs/Train.py" in text_of(outputs)
        reply, outputs = kernel.run("%job export")
        assert reply["status"] == "error" and "overwrite" in reply["evalue"]
        reply, outputs = kernel.run("%job export --overwrite")
        assert reply["status"] == "ok"
    finally:
        client.stop_channels()
        server_request(server, "DELETE", f"api/sessions/{session['id']}")


def test_compare_overlays_a_metric_and_returns_the_runs_table(server, kernel):
    write(server, "sweep.py", """
import sys
from momo_jobs import log_metric
for step in range(3):
    log_metric("loss", float(sys.argv[-1]) / (step + 1), step=step)
""")
    client = server.client()
    ids = [client.submit(server.root / "sweep.py", args=["--scale", scale])["id"] for scale in ("1", "3")]
    for job_id in ids:
        assert client.wait(job_id, timeout=60)["status"] == "completed"
    reply, outputs = kernel.run(f"runs = %job compare {' '.join(ids)} --metric loss")
    assert reply["status"] == "ok", text_of(outputs)
    bundle = [m for m in outputs if m["msg_type"] == "display_data"][0]["content"]["data"]
    spec = bundle["application/vnd.vegalite.v5+json"]
    assert spec["encoding"]["color"]["field"] == "run" and spec["encoding"]["x"]["title"] == "step"
    # the chart's numbers carry 15 significant digits, the runs table's best is exact
    assert {(v["run"].split("[")[1].rstrip("]"), v["x"], v["value"]) for v in spec["data"]["values"]} == {
        (ids[0], 0, 1.0), (ids[0], 1, 0.5), (ids[0], 2, float(f"{1 / 3:.15g}")), (ids[1], 0, 3.0), (ids[1], 1, 1.5),
        (ids[1], 2, 1.0)}
    assert bundle["text/plain"].startswith(f"best: sweep-") and ids[0] in bundle["text/plain"]
    assert kernel.value("list(runs.index)") == ids
    assert kernel.value("list(runs['param scale'])") == ["1", "3"]
    assert kernel.value("list(runs['loss best'])") == [1 / 3, 1.0]
