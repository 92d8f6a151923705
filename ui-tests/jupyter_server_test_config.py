"""Server configuration for the Galata UI tests.

Galata's settings (a temporary root folder, no token, no browser), plus a
momo-jobs of its own: two fake GPUs (for the GPU queue test), two CPU slots,
a short stop grace, and a job store in a temporary folder.
"""
import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.allow_root = True  # noqa: F821
# a port of its own, so a JupyterLab already running on 8888 is left alone
c.ServerApp.port = int(os.environ.get("MOMO_UI_PORT", "18888"))  # noqa: F821
c.LabApp.expose_app_in_browser = True  # noqa: F821

os.environ["MOMO_JOBS_GPUS"] = os.environ.get("MOMO_JOBS_UI_GPUS", "0,1")
os.environ.setdefault("MOMO_JOBS_CPU_SLOTS", "2")
os.environ.setdefault("MOMO_JOBS_STOP_GRACE", "2")
# telemetry five times a second, so that a job of a few seconds has its series
os.environ.setdefault("MOMO_JOBS_TELEMETRY", "0.2")
os.environ["MOMO_JOBS_DATA_DIR"] = tempfile.mkdtemp(prefix="momo-jobs-ui-")
