"""The compute backend the settings ask for. Its own module so that `bot.compute` (the interface
and the local backend) and `bot.ray_compute` (which needs Ray, an optional extra) do not import
each other."""

from __future__ import annotations

from .batching import Runner
from .compute import Compute, ComputeError, LocalCompute
from .settings import Settings


def compute_for(settings: Settings, run: Runner) -> Compute:
    """The backend the settings ask for: `run` is the runtime's worker pool (the local backend's);
    Ray is imported only when asked for."""
    if settings.compute_backend == "ray":
        try:
            from .ray_compute import RayCompute
        except ImportError as error:
            raise ComputeError(
                f"Ray is not installed ({error}); install the extra: pip install '.[ray]'"
            ) from error
        return RayCompute(settings)
    return LocalCompute(settings, run)
