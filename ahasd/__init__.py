"""ahasd: an analytical performance and energy model of speculative decoding
on mobile heterogeneous hardware (NPU + LPDDR5-PIM, GPU, CPU), with an exact
discrete-event simulator of the same semantics.

Quick start::

    import ahasd
    res = ahasd.estimate(hardware="ahasd-npu-pim", draft="llama2-7b",
                         target="llama2-13b", schedule="ahasd", k=4, alpha=0.8)
    print(res.throughput_tok_s, res.energy_per_token_j)
    print(res.summary())

Every number is in SI units (s, J, W, bytes, bytes/s, ops/s); the design of
record is docs/MODEL.md and the preset schema docs/DATA.md.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from .errors import AhasdError, ConfigError, NumericalError, ScheduleError
from .api import draft_distribution, draft_sample, estimate, pass_ops, simulate
from .config import Config
from .costs import TaskCosts, task_costs
from .fitting import fit_profile, load_trace, profile_from_trace
from .hardware import Device, Hardware
from .model import Model
from .policy import Policy
from .presets import list_presets, show_preset
from .result import Result
from .workload import Workload

try:
    __version__ = _version("ahasd")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Model", "Device", "Hardware", "Workload", "Policy", "TaskCosts", "Config", "Result",
    "estimate", "simulate", "task_costs", "draft_distribution", "draft_sample", "pass_ops",
    "list_presets", "show_preset", "AhasdError", "ConfigError", "ScheduleError",
    "NumericalError", "fit_profile", "load_trace", "profile_from_trace", "__version__",
]
from .sweep import SweepWarning, sweep
from .explore import OptResult, best, optimize, pareto, sensitivity
__all__ += ["sweep", "SweepWarning", "pareto", "best", "sensitivity", "optimize", "OptResult"]
from . import plots  # noqa: E402  (Matplotlib is imported only when a plot is drawn)
__all__ += ["plots"]
from .calibrate import CalibrationResult, calibrate  # noqa: E402
__all__ += ["calibrate", "CalibrationResult"]
