"""``momo_jobs.keras``: the Keras callback user scripts import (user/keras.py)."""
from .user.keras import MetricsCallback, resume_callbacks

__all__ = ["MetricsCallback", "resume_callbacks"]
