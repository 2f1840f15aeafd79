"""Result: the outputs of one estimate or simulation, explained.

Every canonical output of MODEL.md is an attribute under its canonical name
(``res.throughput_tok_s``, ``res.energy_per_token_j``, ...; the names come
from the C core's ``ahasd_output_name``), in SI units.  Breakdowns of time
(device x task) and energy (device x cause) are DataFrames; ``method`` says
how the numbers were produced and ``approximations`` what the analytical
method assumed.  A simulation adds 95% confidence half-widths (``ci95``) and
optionally the event trace of its first run.
"""
from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import presets as P
from ._native import ffi, lib, output_names
from .costs import CAUSE_NAMES, DEVICE_NAMES, TASK_NAMES

if TYPE_CHECKING:
    from .config import Config

__all__ = ["Result", "OUTPUTS", "METHODS", "FLAG_TEXT"]

#: Canonical output names, in the order of AHASD_OUT_*.
OUTPUTS: tuple[str, ...] = tuple(output_names())
#: Method names, in the order of AHASD_METHOD_*.
METHODS: tuple[str, ...] = ("closed-form", "markov-chain", "simulation")

#: Readable text of each result flag: (bit, is an approximation, text).
FLAG_TEXT: tuple[tuple[int, bool, str], ...] = (
    (lib.AHASD_FLAG_EXACT_PREDICTIONS, True,
     "TVC latency predictions assumed exact (the simulator can use the paper's "
     "4-entry moving averages)"),
    (lib.AHASD_FLAG_BANDIT_STEADY, True,
     "BanditSpec at its best arm (steady state); the UCB1 transient is reported "
     "separately (bandit_transient_rounds)"),
    (lib.AHASD_FLAG_EDC_MEAN_FIELD, True,
     "EDC pattern-history counters replaced by their mean-field (stationary) law"),
    (lib.AHASD_FLAG_LEAD_APPROX, True,
     "look-ahead queue with L_max > 2 summarised by its leading batch"),
    (lib.AHASD_FLAG_CONTENTION_MEAN, True,
     "NPU/PIM memory contention applied with the mean overlap, not the exact one"),
    (lib.AHASD_FLAG_SEGMENTED, True,
     "task costs taken at the middle context of each context segment"),
    (lib.AHASD_FLAG_OVERFLOW_STREAMED, False,
     "weights beyond a device's capacity are streamed over its host link"),
)

# Outputs shown only when their device is present.
_DEVICE_OUTPUTS = {f"{d}_{kind}": d for d in ("npu", "pim", "gpu", "cpu")
                   for kind in ("busy_frac", "idle_s")}
_HEADLINE = ("throughput_tok_s", "latency_per_token_s", "energy_per_token_j", "tokens_per_j",
             "edp_js")


def _unit_text(name: str) -> str:
    if name.endswith("_frac") or name in ("acceptance_rate", "suppression_rate"):
        return ""
    return P.unit_of(name)


def _fmt(name: str, v: float, like: float | None = None) -> str:
    if name.endswith("_frac") or name.endswith("_rate"):
        return f"{v:.4g}"
    if name in ("drafted_tokens", "committed_tokens", "rounds", "mean_draft_len",
                "mean_accepted", "tokens_per_round"):
        return f"{v:.5g}"
    return P.format_si(v, _unit_text(name), like=like)


class Result:
    """Outputs of one design point (see the module docstring).

    Attributes: every canonical output name; ``method`` ("closed-form",
    "markov-chain", "simulation"); ``ci95`` (output -> 95% half-width, for a
    simulation; empty otherwise); ``approximations`` and ``notes`` (readable
    strings); ``fits_in_memory``; ``time_breakdown`` (s, devices x tasks);
    ``energy_breakdown`` (J, devices x causes); ``wasted_s`` (device -> busy
    time on discarded work); ``n_runs``; ``bandit_arm``,
    ``bandit_transient_rounds``, ``edc_continue_prob``, ``chain_residual``,
    ``chain_states``; ``config``; ``trace`` (DataFrame or None).
    """

    __slots__ = ("_r", "config", "trace")

    def __init__(self, cres: Any, config: "Config", trace: pd.DataFrame | None = None) -> None:
        self._r = cres
        self.config = config
        self.trace = trace

    def __getstate__(self) -> tuple[bytes, "Config", pd.DataFrame | None]:
        """Pickle the raw C result as bytes (for multiprocessing and dask)."""
        return bytes(ffi.buffer(self._r)), self.config, self.trace

    def __setstate__(self, state: tuple[bytes, "Config", pd.DataFrame | None]) -> None:
        raw, self.config, self.trace = state
        self._r = ffi.new("ahasd_result *")
        ffi.memmove(self._r, raw, ffi.sizeof("ahasd_result"))

    # ------------------------------------------------------------ outputs
    def __getitem__(self, name: str) -> float:
        try:
            return float(self._r.out[_INDEX[name]])
        except KeyError:
            raise KeyError(f"{name!r} is not a canonical output{P.close_names(name, OUTPUTS)}") \
                from None

    @property
    def method(self) -> str:
        return METHODS[self._r.method]

    @property
    def n_runs(self) -> int:
        return int(self._r.n_runs)

    @property
    def ci95(self) -> dict[str, float]:
        """95% confidence half-width of each output (simulation with >= 2 runs; else empty)."""
        if self._r.method != lib.AHASD_METHOD_SIMULATION:
            return {}
        return {n: float(self._r.ci95[i]) for i, n in enumerate(OUTPUTS)}

    @property
    def flags(self) -> int:
        return int(self._r.flags)

    @property
    def approximations(self) -> list[str]:
        """What the method assumed beyond MODEL.md's semantics (readable)."""
        return [t for bit, approx, t in FLAG_TEXT if approx and self._r.flags & bit]

    @property
    def notes(self) -> list[str]:
        """Facts about the configuration worth knowing (not approximations)."""
        out = [t for bit, approx, t in FLAG_TEXT if not approx and self._r.flags & bit]
        if not self._r.fits_in_memory:
            out.append("the models and KV caches do not fit in the platform memory")
        return out

    @property
    def fits_in_memory(self) -> bool:
        return bool(self._r.fits_in_memory)

    @property
    def bandit_arm(self) -> int:
        return int(self._r.bandit_arm)

    @property
    def bandit_transient_rounds(self) -> float:
        return float(self._r.bandit_transient_rounds)

    @property
    def edc_continue_prob(self) -> float:
        return float(self._r.edc_continue_prob)

    @property
    def chain_residual(self) -> float:
        return float(self._r.chain_residual)

    @property
    def chain_states(self) -> int:
        return int(self._r.chain_states)

    # --------------------------------------------------------- breakdowns
    def _devices(self) -> list[int]:
        """Accounting rows worth showing: present devices, and any with time or energy."""
        present: set[str] = set()
        cfg = self.config
        if cfg.hardware is not None:
            present.update(cfg.hardware.devices)
            if cfg.hardware.memory_static_w > 0:
                present.add("mem")
        if cfg.costs is not None:
            hw = cfg.hardware
            present.update((hw.draft_dev, hw.verify_dev) if hw is not None else ("pim", "npu"))
        rows = []
        for d, name in enumerate(DEVICE_NAMES):
            nonzero = any(self._r.time_s[d][t] for t in range(len(TASK_NAMES))) or any(
                self._r.energy_j[d][e] for e in range(len(CAUSE_NAMES)))
            if name in present or nonzero:
                rows.append(d)
        return rows

    @property
    def time_breakdown(self) -> pd.DataFrame:
        """Wall time (s) of each device split by task (draft, verify, preverify, overhead, idle)."""
        rows = self._devices()
        data = [[float(self._r.time_s[d][t]) for t in range(len(TASK_NAMES))] for d in rows]
        df = pd.DataFrame(data, index=[DEVICE_NAMES[d] for d in rows], columns=list(TASK_NAMES))
        df.index.name = "device"
        return df

    @property
    def energy_breakdown(self) -> pd.DataFrame:
        """Energy (J) of each device split by cause (compute, memory, static_busy,
        static_idle, task: an explicit task energy that is not split)."""
        rows = self._devices()
        data = [[float(self._r.energy_j[d][e]) for e in range(len(CAUSE_NAMES))] for d in rows]
        df = pd.DataFrame(data, index=[DEVICE_NAMES[d] for d in rows], columns=list(CAUSE_NAMES))
        df.index.name = "device"
        return df

    @property
    def wasted_s(self) -> dict[str, float]:
        """Busy time (s) per device on work later discarded (flushed drafts, rejected tails)."""
        return {DEVICE_NAMES[d]: float(self._r.wasted_s[d]) for d in self._devices()}

    # ------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        """Canonical output names -> floats, plus ``method``."""
        out: dict[str, Any] = {n: float(self._r.out[i]) for i, n in enumerate(OUTPUTS)}
        out["method"] = self.method
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row: the design point's label fields, every output, method, and
        ``<output>_ci95`` columns for a simulation.  Concatenate rows of many
        results with ``pd.concat``."""
        cfg = self.config
        row: dict[str, Any] = {"schedule": cfg.schedule, "hardware": cfg.hardware_name,
                               "draft": cfg.draft_name, "target": cfg.target_name,
                               "policy": str(cfg.policy), "workload": cfg.workload.name}
        row.update(self.to_dict())
        row["fits_in_memory"] = self.fits_in_memory
        for n, h in self.ci95.items():
            row[f"{n}_ci95"] = h
        return pd.DataFrame([row])

    # ---------------------------------------------------------- printing
    def _shown(self) -> list[str]:
        shown_dev = {DEVICE_NAMES[d] for d in self._devices()}
        names = []
        for n in OUTPUTS:
            if n in _DEVICE_OUTPUTS and _DEVICE_OUTPUTS[n] not in shown_dev:
                continue
            if n.startswith("gap_") and math.isnan(self[n]):
                continue
            names.append(n)
        return names

    def _rows(self) -> list[tuple[str, str, str, str]]:
        """(name, number, unit, "+- half-width unit") for each shown output."""
        ci = self.ci95
        rows = []
        for n in self._shown():
            num, _, unit = _fmt(n, self[n]).partition(" ")
            h = ci.get(n, 0.0)
            rows.append((n, num, unit, f"+- {_fmt(n, h, like=self[n])}" if ci and h > 0 else ""))
        return rows

    def __str__(self) -> str:
        head = f"{self.config.label}  [{self.method}"
        head += f", {self.n_runs} runs, 95% CI]" if self.method == "simulation" else "]"
        rows = self._rows()
        w = max(len(r[0]) for r in rows)
        wv = max(len(r[1]) for r in rows)
        wu = max(len(r[2]) for r in rows)
        lines = [head] + [f"  {n:<{w}}  {v:>{wv}} {u:<{wu}}  {c}".rstrip()
                          for n, v, u, c in rows]
        for a in self.approximations:
            lines.append(f"  approximation: {a}")
        for a in self.notes:
            lines.append(f"  note: {a}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<Result {self.config.schedule} {self.method}: "
                f"{self.throughput_tok_s:.4g} tok/s, "  # type: ignore[attr-defined]
                f"{self.energy_per_token_j:.4g} J/token>")  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        e = html.escape
        head = f"<b>{e(self.config.label)}</b> [{e(self.method)}]"
        body = "".join(f"<tr><td><code>{e(n)}</code></td><td style='text-align:right'>{e(v)}"
                       f"</td><td>{e(u)}</td><td>{e(c)}</td></tr>"
                       for n, v, u, c in self._rows())
        notes = "".join(f"<li>approximation: {e(a)}</li>" for a in self.approximations)
        notes += "".join(f"<li>note: {e(a)}</li>" for a in self.notes)
        return (f"<div>{head}<table>{body}</table>"
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")

    def summary(self) -> str:
        """The outputs, the breakdowns of time and energy, and how they were computed."""
        fmt = {"float_format": lambda v: f"{v:.4g}"}
        lines = [str(self), "", "time by device and task (s):",
                 self.time_breakdown.to_string(**fmt), "",
                 "energy by device and cause (J):", self.energy_breakdown.to_string(**fmt), "",
                 "busy time on discarded work (s): " + ", ".join(
                     f"{d} {v:.4g}" for d, v in self.wasted_s.items())]
        extra = []
        if self.config.policy.kind == "banditspec" and self.method != "simulation":
            extra.append(f"bandit steady arm k = {self.bandit_arm}, transient bound "
                         f"{self.bandit_transient_rounds:.4g} rounds")
        if self.config.schedule in ("async-edc", "ahasd"):
            extra.append(f"EDC mean P(continue) {self.edc_continue_prob:.4g}")
        if self.method == "markov-chain":
            extra.append(f"Markov chain: {self.chain_states} states, balance residual "
                         f"{self.chain_residual:.3g}")
        lines += extra
        return "\n".join(lines)


_INDEX = {n: i for i, n in enumerate(OUTPUTS)}


def _output_property(i: int, name: str) -> property:
    def get(self: Result) -> float:
        return float(self._r.out[i])
    get.__name__ = name
    get.__doc__ = f"{name} ({_unit_text(name) or 'dimensionless'})"
    return property(get)


for _i, _n in enumerate(OUTPUTS):
    setattr(Result, _n, _output_property(_i, _n))
del _i, _n
