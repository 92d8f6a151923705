"""momo-jobs: train machine-learning models as background jobs from JupyterLab.

Importing this package stays light: user scripts import it for ``log_metric`` and ``log_param``.
The server extension, the Keras callback and the magics load only when used.
"""
from .job.protocol import log_metric, log_param

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0"

__all__ = ["log_metric", "log_param", "__version__"]


def _jupyter_server_extension_points():
    return [{"module": "momo_jobs", "app": _app_class()}]


def _app_class():
    from .server.app import MomoJobsApp

    return MomoJobsApp


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "momo-jobs"}]


def load_ipython_extension(ipython):
    from .user.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    from .user.magics import unload_ipython_extension as unload

    unload(ipython)
