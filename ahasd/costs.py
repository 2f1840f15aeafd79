"""Task costs: explicit costs for quick what-ifs, and the cost model's own table.

``TaskCosts`` is MODEL.md's "Explicit task costs": measured (or assumed)
latencies and energies of each task, no hardware or model needed.  A task's
energy is all of its energy, static power while busy included; ``idle_w`` is
what a device draws while it waits.  Drafting runs on the hardware's
``draft_dev`` and verification on ``verify_dev`` (PIM and NPU when the
configuration has no hardware).

``task_costs()`` asks the C cost model for the latency and energy of every
task at one context length and returns a :class:`TaskTable`, which prints as
a table, converts to a DataFrame, and can be turned into ``TaskCosts``
(``.explicit()``) to start a what-if from the modelled platform.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from . import presets as P
from ._native import call, ffi, lib
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Config

__all__ = ["TaskCosts", "TaskTable", "task_costs", "DEVICE_NAMES", "TASK_NAMES", "CAUSE_NAMES"]

#: Accounting devices (AHASD_DEV_*), tasks (AHASD_TASK_*), energy causes (AHASD_E_*).
DEVICE_NAMES: tuple[str, ...] = ("npu", "pim", "gpu", "cpu", "mem")
TASK_NAMES: tuple[str, ...] = ("draft", "verify", "preverify", "overhead", "idle")
CAUSE_NAMES: tuple[str, ...] = ("compute", "memory", "static_busy", "static_idle", "task")

_PAIR_PARTS = {"verify_base_s": ("verify_s", 0), "verify_per_token_s": ("verify_s", 1),
               "verify_base_j": ("verify_j", 0), "verify_per_token_j": ("verify_j", 1)}
_SCALARS = ("draft_token_s", "preverify_token_s", "draft_token_j", "preverify_token_j",
            "sync_s", "rollback_s", "switch_s")


def _pair(value: Any, field_name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (P.as_real(value, f"TaskCosts.{field_name}"), 0.0)
    vals = P.as_reals(value, f"TaskCosts.{field_name}")
    if len(vals) != 2:
        raise ConfigError(f"TaskCosts.{field_name} = {value!r} is not allowed: must be "
                          "(base, per draft token)")
    return vals  # type: ignore[return-value]


@P.strict_init
@dataclass(frozen=True, kw_only=True)
class TaskCosts(P.CStruct):
    """Explicit task costs (seconds, joules, watts).

    draft_token_s: one draft token; verify_s: (base, per draft token), so
    verifying k drafts takes base + k x per_token (a number means (base, 0));
    preverify_token_s: pre-verification per token; the ``_j`` fields are
    the matching energies; sync_s: handoff per verification; rollback_s:
    after a rejection; switch_s: PIM DLM <-> TLM switch; idle_w: power per
    device while waiting ({"npu": W, "pim": W, "gpu": W, "cpu": W, "mem": W};
    missing devices draw 0; "mem" draws for the whole run).
    """

    draft_token_s: float
    verify_s: tuple[float, float]
    preverify_token_s: float = 0.0
    draft_token_j: float = 0.0
    verify_j: tuple[float, float] = (0.0, 0.0)
    preverify_token_j: float = 0.0
    sync_s: float = 0.0
    rollback_s: float = 0.0
    switch_s: float = 0.0
    idle_w: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for f in _SCALARS:
            v = P.as_real(getattr(self, f), f"TaskCosts.{f}")
            if v < 0:
                raise ConfigError(f"TaskCosts.{f} = {v!r} is not allowed: must be >= 0")
            set_(self, f, v)
        for f in ("verify_s", "verify_j"):
            pair = _pair(getattr(self, f), f)
            if min(pair) < 0:
                raise ConfigError(f"TaskCosts.{f} = {pair!r} is not allowed: must be >= 0")
            set_(self, f, pair)
        if not isinstance(self.idle_w, Mapping):
            raise ConfigError(f"TaskCosts.idle_w = {self.idle_w!r} is not allowed: must be a "
                              f"dict device -> W with devices among {', '.join(DEVICE_NAMES)}")
        idle = {d: 0.0 for d in DEVICE_NAMES}
        for d, w in self.idle_w.items():
            if d not in idle:
                raise ConfigError(f"TaskCosts.idle_w has unknown device {d!r}"
                                  f"{P.close_names(str(d), DEVICE_NAMES)}; devices: "
                                  f"{', '.join(DEVICE_NAMES)}")
            v = P.as_real(w, f"TaskCosts.idle_w[{d!r}]")
            if v < 0:
                raise ConfigError(f"TaskCosts.idle_w[{d!r}] = {v!r} is not allowed: must be >= 0")
            idle[d] = v
        set_(self, "idle_w", idle)
        set_(self, "_c", self._make_c())

    def _make_c(self) -> Any:
        c = ffi.new("ahasd_explicit_costs *")
        self.to_c(c)
        return c

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in _SCALARS)
                    + (self.verify_s, self.verify_j, tuple(self.idle_w.values())))

    def replace(self, **changes: Any) -> "TaskCosts":
        """A copy with ``changes`` applied; ``idle_w.<device>`` sets one device's idle power."""
        idle = dict(self.idle_w)
        plain: dict[str, Any] = {}
        pairs = {"verify_s": list(self.verify_s), "verify_j": list(self.verify_j)}
        touched: set[str] = set()
        for k, v in changes.items():
            if k.startswith("idle_w."):
                idle[k.split(".", 1)[1]] = v
            elif k in _PAIR_PARTS:
                pair, i = _PAIR_PARTS[k]
                pairs[pair][i] = v
                touched.add(pair)
            elif k in _FIELD_NAMES:
                plain[k] = v
            else:
                raise ConfigError(f"TaskCosts has no field '{k}'{P.close_names(k, _FIELD_NAMES)}"
                                  f"; fields: {', '.join(_FIELD_NAMES)}")
        plain.setdefault("idle_w", idle)
        for pair in touched:
            if pair in plain:
                raise ConfigError(f"TaskCosts: give {pair} or its parts, not both")
            plain[pair] = tuple(pairs[pair])
        return dataclasses.replace(self, **plain)

    def get(self, name: str) -> Any:
        """A field, a part of a pair (verify_base_s, ...) or idle_w.<device>."""
        if name.startswith("idle_w."):
            return self.idle_w[name.split(".", 1)[1]]
        if name in _PAIR_PARTS:
            pair, i = _PAIR_PARTS[name]
            return getattr(self, pair)[i]
        if name in _FIELD_NAMES:
            return getattr(self, name)
        raise ConfigError(f"TaskCosts has no field '{name}'{P.close_names(name, _FIELD_NAMES)}")

    def to_c(self, c: Any) -> None:
        """Fill an ``ahasd_explicit_costs``."""
        c.draft_token_s = self.draft_token_s
        c.verify_base_s, c.verify_per_token_s = self.verify_s
        c.preverify_token_s = self.preverify_token_s
        c.draft_token_j = self.draft_token_j
        c.verify_base_j, c.verify_per_token_j = self.verify_j
        c.preverify_token_j = self.preverify_token_j
        c.sync_s = self.sync_s
        c.rollback_s = self.rollback_s
        c.switch_s = self.switch_s
        c.idle_w = [self.idle_w[d] for d in DEVICE_NAMES]

    def describe(self) -> str:
        rows = [(f, getattr(self, f), "") for f in ("draft_token_s",)]
        rows += [("verify_base_s", self.verify_s[0], ""),
                 ("verify_per_token_s", self.verify_s[1], "")]
        rows += [(f, getattr(self, f), "") for f in ("preverify_token_s", "draft_token_j")]
        rows += [("verify_base_j", self.verify_j[0], ""),
                 ("verify_per_token_j", self.verify_j[1], "")]
        rows += [(f, getattr(self, f), "") for f in ("preverify_token_j", "sync_s",
                                                     "rollback_s", "switch_s")]
        rows += [(f"idle_w.{d}", w, "") for d, w in self.idle_w.items() if w]
        return "\n".join(P.describe_fields("explicit task costs:", rows))

    def __str__(self) -> str:
        return (f"TaskCosts(draft {P.format_si(self.draft_token_s, 's')}/token, verify "
                f"{P.format_si(self.verify_s[0], 's')} + {P.format_si(self.verify_s[1], 's')}"
                "/token)")


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TaskCosts))


# --------------------------------------------------------------------------
# The cost model's table
# --------------------------------------------------------------------------
_COST_COLUMNS = ("device", "time_s", "compute_s", "memory_s", "overhead_s", "energy_j")


def _cost_row(task: str, n: int, c: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"task": task, "n": n, "device": DEVICE_NAMES[c.device]
                           if 0 <= c.device < len(DEVICE_NAMES) else str(c.device)}
    for f in _COST_COLUMNS[1:]:
        row[f] = float(getattr(c, f))
    for i, cause in enumerate(CAUSE_NAMES):
        row[f"{cause}_j"] = float(c.energy_by_cause_j[i])
    return row


class TaskTable:
    """Latency and energy of every task at one context length (from the cost model).

    Rows of ``to_frame()``: "draft" (one DLM token on the draft device),
    "verify" with n = k drafts (k + 1 positions on the verify device, k =
    0..k_max), "preverify" with n = m tokens (on the PIM, m = 1..m_max),
    "ar_step" (one TLM token on the verify device), "serial_draft" (one DLM
    token on the verify device).  Columns in SI units: time_s, compute_s,
    memory_s, overhead_s, energy_j and energy by cause (compute_j,
    memory_j, static_busy_j, static_idle_j, task_j).
    """

    def __init__(self, table: Any, config: "Config") -> None:
        t = table
        self.config = config
        self.context: float = float(t.context)
        self.k_max: int = int(t.k_max)
        self.m_max: int = int(t.m_max)
        self.sync_s: float = float(t.sync_s)
        self.rollback_s: float = float(t.rollback_s)
        self.switch_s: float = float(t.switch_s)
        self.fits_in_memory: bool = bool(t.fits_in_memory)
        self.draft_weight_bytes: float = float(t.draft_weight_bytes)
        self.target_weight_bytes: float = float(t.target_weight_bytes)
        self.kv_bytes_at_context: float = float(t.kv_bytes_at_context)
        rows = [_cost_row("draft", 1, t.draft_token)]
        rows += [_cost_row("verify", k, t.verify[k]) for k in range(self.k_max + 1)]
        rows += [_cost_row("preverify", m, t.preverify[m]) for m in range(1, self.m_max + 1)]
        rows += [_cost_row("ar_step", 1, t.ar_step),
                 _cost_row("serial_draft", 1, t.serial_draft_token)]
        self._frame = pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per task (a copy)."""
        return self._frame.copy()

    def _get(self, task: str, n: int | None = None) -> pd.Series:
        f = self._frame
        sel = f[(f.task == task) & ((f.n == n) if n is not None else True)]
        if sel.empty:
            raise ConfigError(f"no task '{task}' with n = {n} in this table")
        return sel.iloc[0]

    @property
    def draft_token_s(self) -> float:
        return float(self._get("draft")["time_s"])

    @property
    def ar_step_s(self) -> float:
        return float(self._get("ar_step")["time_s"])

    def verify_s(self, k: int) -> float:
        """Latency of verifying k drafts (k + 1 positions)."""
        return float(self._get("verify", k)["time_s"])

    def preverify_s(self, m: int) -> float:
        """Latency of pre-verifying m tokens on the PIM."""
        return float(self._get("preverify", m)["time_s"])

    def explicit(self) -> TaskCosts:
        """These costs as TaskCosts, to start a what-if from the modelled platform.

        verify_s and verify_j are the least-squares line over k = 0..k_max;
        preverify per token is the least-squares slope through the origin over
        m = 1..m_max; idle_w is each present device's static power (and main
        memory's background power).  Contention between devices is lost.
        """
        f = self._frame
        ver = f[f.task == "verify"]
        k = ver.n.to_numpy(dtype=np.float64)
        vt = np.polyfit(k, ver.time_s.to_numpy(dtype=np.float64), 1) if len(k) > 1 else \
            np.array([0.0, ver.time_s.iloc[0]])
        ve = np.polyfit(k, ver.energy_j.to_numpy(dtype=np.float64), 1) if len(k) > 1 else \
            np.array([0.0, ver.energy_j.iloc[0]])
        pre = f[f.task == "preverify"]
        m = pre.n.to_numpy(dtype=np.float64)
        mm = float(m @ m) if len(m) else 1.0
        pre_s = float(m @ pre.time_s.to_numpy(dtype=np.float64)) / mm if len(m) else 0.0
        pre_j = float(m @ pre.energy_j.to_numpy(dtype=np.float64)) / mm if len(m) else 0.0
        hw = self.config.hardware
        idle: dict[str, float] = {}
        if hw is not None:
            idle = {r: d.static_w for r, d in hw.devices.items()}
            idle["mem"] = hw.memory_static_w
        draft = self._get("draft")
        return TaskCosts(draft_token_s=float(draft.time_s),
                         verify_s=(max(float(vt[1]), 0.0), max(float(vt[0]), 0.0)),
                         preverify_token_s=max(pre_s, 0.0),
                         draft_token_j=float(draft.energy_j),
                         verify_j=(max(float(ve[1]), 0.0), max(float(ve[0]), 0.0)),
                         preverify_token_j=max(pre_j, 0.0), sync_s=self.sync_s,
                         rollback_s=self.rollback_s, switch_s=self.switch_s, idle_w=idle)

    def __str__(self) -> str:
        f = self._frame
        cfg = self.config
        lines = [f"task costs at context {self.context:g} tokens: {cfg.draft_name} drafting for "
                 f"{cfg.target_name} on {cfg.hardware_name}"
                 + ("" if self.fits_in_memory else "  (models + KV do NOT fit in memory)")]
        lines.append(f"  {'task':<13} {'n':>3} {'device':<6} {'latency':>11} {'energy':>11} "
                     f"{'compute':>11} {'memory':>11}")
        for r in f.itertuples():
            lines.append(f"  {r.task:<13} {r.n:>3} {r.device:<6} "
                         f"{P.format_si(r.time_s, 's'):>11} {P.format_si(r.energy_j, 'J'):>11} "
                         f"{P.format_si(r.compute_s, 's'):>11} {P.format_si(r.memory_s, 's'):>11}")
        lines.append(f"  sync {P.format_si(self.sync_s, 's')}, rollback "
                     f"{P.format_si(self.rollback_s, 's')}, switch "
                     f"{P.format_si(self.switch_s, 's')}; weights: draft "
                     f"{P.format_si(self.draft_weight_bytes, 'B')}, target "
                     f"{P.format_si(self.target_weight_bytes, 'B')}; KV at context "
                     f"{P.format_si(self.kv_bytes_at_context, 'B')}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<TaskTable context={self.context:g} k_max={self.k_max} m_max={self.m_max}>"

    def _repr_html_(self) -> str:
        return self._frame.to_html(index=False)


def task_costs(*, context: float | None = None, config: "Config | None" = None,
               **kw: Any) -> TaskTable:
    """Latency and energy of every task at ``context`` tokens already cached.

    Takes the design-point keywords of :func:`ahasd.estimate` (hardware=,
    draft=, target=, k_max=, m_max=, ...) or ``config=``.  ``context``
    defaults to the configuration's prompt_len.  When no schedule is given,
    a schedule the hardware can run is chosen (the costs do not depend on it).
    """
    from .config import Config
    if "schedule" not in kw and config is None:
        hw = kw.get("hardware")
        if hw is not None:
            from .hardware import Hardware
            hw_obj = hw if isinstance(hw, Hardware) else Hardware.preset(hw)
            kw["schedule"] = "serial" if hw_obj.draft_dev == hw_obj.verify_dev else "sync"
    cfg = Config.build(config=config, **kw)
    ctx = float(cfg.prompt_len if context is None else P.as_real(context, "context"))
    out = ffi.new("ahasd_task_table *")
    call(lib.ahasd_task_costs, cfg.to_c(), ctx, out)
    return TaskTable(out, cfg)
