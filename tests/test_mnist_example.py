"""The MNIST example end to end: copied into a folder, run in quick mode as a CPU job
through the REST API, its model in results/, its metrics in the API; then the
notebook runs against that job's results."""
import ast
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import wait_for_job
from momo_jobs.examples import example_source, prepare_example
from test_mnist_data import CLOSED, home, mnist_cache  # noqa: F401  (fixtures)

keras = pytest.importorskip("keras")
pytest.importorskip("matplotlib")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist"


def load_script():
    spec = importlib.util.spec_from_file_location("How_Train_Model", EXAMPLE / "How_Train_Model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config(obj):
    """What makes a layer or an optimizer, less its generated name."""
    return type(obj).__name__, {k: v for k, v in obj.get_config().items() if k != "name"}


def notebook_code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_prepare_example_keeps_the_users_files(tmp_path, mnist_cache, monkeypatch, home):  # noqa: F811
    monkeypatch.setenv("MOMO_JOBS_CACHE_DIR", str(mnist_cache))
    dest = tmp_path / "tutorial"
    dest.mkdir()
    (dest / "How_Train_Model.py").write_text("print('mine')\n")
    lines = []
    notebook = prepare_example("mnist", dest, log=lines.append)
    assert notebook == dest / "How_Train_Model.ipynb"
    assert notebook.read_bytes() == (EXAMPLE / "How_Train_Model.ipynb").read_bytes()
    assert (dest / "How_Train_Model.py").read_text() == "print('mine')\n"
    assert (dest / "keras_mnist_data" / "mnist.npz").is_file()
    assert any("kept your" in line and "How_Train_Model.py" in line for line in lines)
    # Again: nothing is replaced, the data is kept.
    notebook.write_text("{}")
    prepare_example("mnist", dest, log=lines.append)
    assert notebook.read_text() == "{}"


def test_prepare_example_errors(tmp_path, home, monkeypatch):  # noqa: F811
    with pytest.raises(ValueError, match="unknown example"):
        prepare_example("cifar", tmp_path / "x")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError):
        prepare_example("mnist", tmp_path / "file")

    # No data source answers: one clear line, and the files are there to retry with.
    monkeypatch.setenv("MOMO_JOBS_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("MOMO_JOBS_MNIST_URL", f"{CLOSED}/mnist.npz")
    monkeypatch.setenv("PIP_INDEX_URL", f"{CLOSED}/simple")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    with pytest.raises(RuntimeError) as info:
        prepare_example("mnist", tmp_path / "offline", log=lambda line: None)
    assert "\n" not in str(info.value) and "MNIST" in str(info.value)
    assert (tmp_path / "offline" / "How_Train_Model.py").is_file()


def test_example_files_agree():
    assert example_source("mnist") == EXAMPLE
    nb = nbformat.read(EXAMPLE / "How_Train_Model.ipynb", as_version=4)
    nbformat.validate(nb)
    for source in notebook_code(nb):
        ast.parse(source)
    # The notebook and the script build the same two models.
    namespace = {"keras": keras, "layers": keras.layers}
    exec(next(s for s in notebook_code(nb) if "def build_model" in s).split("\n\n\nsteps =")[0], namespace)
    script = load_script()
    for kind in ("classic", "improved"):
        ours, theirs = namespace["build_model"](kind, 100), script.build_model(kind, 100)
        assert [config(layer) for layer in ours.layers] == [config(layer) for layer in theirs.layers]
        assert ours.count_params() == theirs.count_params()
        assert config(ours.optimizer) == config(theirs.optimizer)


def test_script_options(monkeypatch):
    script = load_script()
    monkeypatch.delenv("MOMO_EXAMPLE_QUICK", raising=False)
    monkeypatch.delenv("MOMO_EXAMPLE_MODEL", raising=False)
    args = script.parse_args([])
    assert (args.model, args.epochs, args.quick, args.batch_size) == ("classic", 12, False, 128)
    assert args.lr == 1.0 and script.parse_args(["--model", "improved"]).lr == 3e-3
    assert script.parse_args(["--lr", "0.5"]).lr == 0.5
    assert script.parse_args(["--quick"]).epochs == 2
    monkeypatch.setenv("MOMO_EXAMPLE_QUICK", "1")
    monkeypatch.setenv("MOMO_EXAMPLE_MODEL", "improved")
    args = script.parse_args(["--epochs", "3"])
    assert (args.model, args.epochs, args.quick) == ("improved", 3, True)


@pytest.mark.timeout(900)
async def test_quick_example_runs_as_a_cpu_job(jobs_api, jp_root_dir, mnist_cache, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MOMO_JOBS_CACHE_DIR", str(mnist_cache))
    folder = Path(jp_root_dir) / "tutorial"
    notebook = prepare_example("mnist", folder, log=lambda line: None)

    code, job = await jobs_api("POST", "jobs", {
        "script": "tutorial/How_Train_Model.py", "resource": "cpu", "name": "mnist quick",
        "args": ["--model", "classic"], "env": {"MOMO_EXAMPLE_QUICK": "1"},
    })
    assert code == 201, job
    job = await wait_for_job(jobs_api, job["id"], timeout=600)
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log", params={"offset": "0", "limit": str(1 << 22)})
    assert job["status"] == "completed" and job["exit_code"] == 0, log["text"][-3000:]
    assert "Epoch 2/2" in log["text"] and "quick mode" in log["text"]

    results = folder / "results"
    assert (results / "my_model.keras").is_file() and (results / "my_model.h5").is_file()
    model = keras.models.load_model(results / "my_model.keras")
    assert model.output_shape == (None, 10)

    code, by_epoch = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"x": "epoch"})
    assert code == 200, by_epoch
    series = {s["name"]: s for s in by_epoch["series"]}
    for name in ("accuracy", "loss", "val_accuracy", "val_loss"):
        assert series[name]["x"] == [1, 2], (name, series[name])
        assert all(isinstance(y, float) for y in series[name]["y"])
    assert series["val_accuracy"]["y"][-1] > 0.5  # it learned something in 2 quick epochs
    _, by_time = await jobs_api("GET", f"jobs/{job['id']}/metrics", params={"names": "test_accuracy,test_loss"})
    assert {s["name"] for s in by_time["series"]} == {"test_accuracy", "test_loss"}

    # Create Job on the notebook itself: its exported code, seeing MOMO_JOB_ID, trains,
    # saves to results/ and reads its own model back.
    code, nb_job = await jobs_api("POST", "jobs", {
        "script": "tutorial/How_Train_Model.ipynb", "resource": "cpu", "env": {"MOMO_EXAMPLE_QUICK": "1"},
    })
    assert code == 201, nb_job
    nb_job = await wait_for_job(jobs_api, nb_job["id"], timeout=600)
    _, log = await jobs_api("GET", f"jobs/{nb_job['id']}/log", params={"offset": "0", "limit": str(1 << 22)})
    assert nb_job["status"] == "completed", log["text"][-3000:]
    assert "quick=True" in log["text"] and "Test accuracy of the trained model" in log["text"]

    # The notebook's flow: debug cells in quick mode, then the job's model loaded back.
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "quick=True" in outputs and '"metric": "val_accuracy"' in outputs
    assert "Test accuracy of the trained model" in outputs
    assert (results / "debug" / "my_model.keras").is_file()  # the debug run kept apart from the job's
    assert sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})) >= 2


CHINESE = "How_Train_Model_zh_CN.ipynb"


def test_the_chinese_tutorial_is_the_english_one_in_chinese(tmp_path, mnist_cache, monkeypatch, home):  # noqa: F811
    english = nbformat.read(EXAMPLE / "How_Train_Model.ipynb", as_version=4)
    chinese = nbformat.read(EXAMPLE / CHINESE, as_version=4)
    nbformat.validate(chinese)
    assert notebook_code(chinese) == notebook_code(english)  # the same code, so the same job
    markdown = "\n".join(c.source for c in chinese.cells if c.cell_type == "markdown")
    for words in ("创建任务", "GPU 机器", "CPU 机器", "导出为 .py", "Python 编辑器上方", "排队中", "运行中",
                  "运行失败", "已完成", "已终止", "查看日志", "终止任务"):
        assert words in markdown, words
    english_text = "\n".join(c.source for c in english.cells if c.cell_type == "markdown")
    assert "*Create Job* above the Python editor" in english_text and "*Export to .py*" in english_text
    monkeypatch.setenv("MOMO_JOBS_CACHE_DIR", str(mnist_cache))
    dest = tmp_path / "tutorial"
    assert prepare_example("mnist", dest, log=lambda line: None, language="zh-CN") == dest / CHINESE
    assert prepare_example("mnist", dest, log=lambda line: None, language="zh_CN.UTF-8").name == CHINESE
    assert prepare_example("mnist", dest, log=lambda line: None, language="en").name == "How_Train_Model.ipynb"
    assert (dest / "How_Train_Model.ipynb").is_file() and (dest / CHINESE).is_file()
