"""``momo_jobs.keras``: the Keras callback user scripts import (user/keras.py)."""
from .user.keras import MetricsCallback

__all__ = ["MetricsCallback"]
