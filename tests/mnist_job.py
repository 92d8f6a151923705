"""The MNIST tutorial's Create Job on a cluster backend, for the Ray and Slurm tests."""
from pathlib import Path

import pytest

from conftest import wait_for_job
from momo_jobs.examples import prepare_example


async def quick_example_job_leaves_its_model(jobs_api, jp_root_dir, mnist_cache, monkeypatch) -> dict:
    """The tutorial's notebook as a job, in quick mode, on the server's backend: the
    trained model is in the notebook's results/ afterwards."""
    keras = pytest.importorskip("keras")
    monkeypatch.setenv("MOMO_JOBS_CACHE_DIR", str(mnist_cache))
    folder = Path(jp_root_dir) / "tutorial"
    prepare_example("mnist", folder, log=lambda line: None)
    code, job = await jobs_api("POST", "jobs", {
        "script": "tutorial/How_Train_Model.ipynb", "resource": "cpu", "env": {"MOMO_EXAMPLE_QUICK": "1"},
    })
    assert code == 201, job
    job = await wait_for_job(jobs_api, job["id"], timeout=800)
    _, log = await jobs_api("GET", f"jobs/{job['id']}/log", params={"offset": "0", "limit": str(1 << 22)})
    assert job["status"] == "completed", (job, log["text"][-3000:])
    model = keras.models.load_model(folder / "results" / "my_model.keras")
    assert model.output_shape == (None, 10)
    return job
