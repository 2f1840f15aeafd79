"""Workload: the token-entropy process and acceptance of a dataset (layer 3 of MODEL.md).

The bucket b in 0..buckets-1 of successive draft tokens is a Markov chain with
row-stochastic transition matrix ``q``; bucket b stands for entropy
(b + 1/2) h_max / buckets (nats).  A draft token in bucket b at position i of
its batch (from 1) is accepted with probability accept[b] x position_decay^(i-1).
``init`` is the first token's bucket law (all zeros: the stationary law of q).
``pred_scale`` calibrates the SpecDec++ acceptance predictor (1 = calibrated).
Field names are the TOML keys of ``data/workloads/*.toml`` and the fields of
the C struct ``ahasd_profile``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import presets as P
from ._native import call, checked_struct, ffi, lib
from .errors import ConfigError

__all__ = ["Workload"]

MAX_BUCKETS: int = lib.AHASD_MAX_BUCKETS

_TOML_SPECS: dict[str, P.Spec] = {
    "buckets": P.INT, "h_max": P.REAL, "q": P.MATRIX, "accept": P.REALS, "init": P.REALS,
    "position_decay": P.REAL, "pred_scale": P.REAL,
}


@P.strict_init
@dataclass(frozen=True, kw_only=True)
class Workload(P.CStruct):
    """An entropy/acceptance profile.

    buckets (B), h_max (nats), q (B x B), accept (B), init (B),
    position_decay in (0, 1], pred_scale > 0, fit (what the profile was
    fitted to: the ``[fit]`` table of its file), sources (field -> text).
    ``q``, ``accept`` and ``init`` are stored as tuples; ``q_array``,
    ``accept_array`` and ``init_array`` give NumPy copies.
    """

    buckets: int
    h_max: float
    q: Any
    accept: Any
    init: Any = None
    position_decay: float = 1.0
    pred_scale: float = 1.0
    name: str = "custom"
    description: str = ""
    fit: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    kind: ClassVar[str] = "workloads"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        b = P.as_int(self.buckets, "Workload.buckets")
        if not 1 <= b <= MAX_BUCKETS:
            raise ConfigError(f"Workload.buckets = {b} is not allowed: must be an integer in "
                              f"[1, {MAX_BUCKETS}]")
        set_(self, "buckets", b)
        set_(self, "h_max", P.as_real(self.h_max, "Workload.h_max"))
        set_(self, "q", P.as_matrix(self.q, "Workload.q", b))
        set_(self, "accept", P.as_reals(_flat(self.accept), "Workload.accept", b))
        init = (0.0,) * b if self.init is None else self.init
        set_(self, "init", P.as_reals(_flat(init), "Workload.init", b))
        set_(self, "position_decay", P.as_real(self.position_decay, "Workload.position_decay"))
        set_(self, "pred_scale", P.as_real(self.pred_scale, "Workload.pred_scale"))
        P.as_str(self.name, "Workload.name")
        P.as_str(self.description, "Workload.description")
        if not isinstance(self.fit, dict):
            raise ConfigError(f"Workload.fit = {self.fit!r} is not allowed: must be a dict")
        set_(self, "fit", dict(self.fit))
        set_(self, "sources", dict(self.sources))
        set_(self, "_c", self._make_c())

    def _make_c(self) -> Any:
        return checked_struct("ahasd_profile *", self.to_c, lib.ahasd_profile_validate)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def preset(cls, name: str) -> "Workload":
        """The workload preset ``name`` (``ahasd.list_presets("workloads")``) or a .toml path."""
        return P.load_preset("workloads", name, cls.from_toml)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Workload":
        """Load a workload file strictly (docs/DATA.md)."""
        path = Path(path)
        doc = P.read_toml(path)
        P.check_top_level(doc, ["name", "description", "fit", *_TOML_SPECS], path)
        name, description = P.header(doc, path)
        values, sources = P.take_fields(doc, _TOML_SPECS, path,
                                        ignore=("name", "description", "fit"))
        fit = _check_fit(P.section(doc, "fit", path, required=False), path)
        try:
            return cls(name=name, description=description, fit=fit, sources=sources, **values)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    @classmethod
    def iid(cls, alpha: float) -> "Workload":
        """An i.i.d. profile: every draft token accepted with probability ``alpha`` (B = 1)."""
        a = P.as_real(alpha, "alpha")
        return _iid(a) if cls is Workload else cls._iid(a)

    @classmethod
    def _iid(cls, a: float) -> "Workload":
        c = ffi.new("ahasd_profile *")
        call(lib.ahasd_profile_iid, c, a)
        src = f"user: i.i.d. alpha = {a:g}"
        return cls._from_c(c, name=f"iid-{a:g}", description=f"i.i.d. acceptance alpha = {a:g}",
                           sources={f: src for f in _TOML_SPECS})

    @classmethod
    def _from_c(cls, c: Any, name: str, description: str,
                sources: dict[str, str] | None = None) -> "Workload":
        b = c.buckets
        q = [[c.q[i * MAX_BUCKETS + j] for j in range(b)] for i in range(b)]
        return cls(buckets=b, h_max=c.h_max, q=q, accept=[c.accept[i] for i in range(b)],
                   init=[c.init[i] for i in range(b)], position_decay=c.position_decay,
                   pred_scale=c.pred_scale, name=name, description=description,
                   sources=sources or {})

    def replace(self, **changes: Any) -> "Workload":
        """A copy with ``changes`` applied (changing ``buckets`` needs q, accept, init too)."""
        bad = [k for k in changes if k not in _FIELD_NAMES]
        if bad:
            raise ConfigError(f"Workload has no field '{bad[0]}'"
                              f"{P.close_names(bad[0], _FIELD_NAMES)}; fields: "
                              f"{', '.join(_FIELD_NAMES)}")
        sources = dict(self.sources)
        for k in changes:
            if k in _TOML_SPECS:
                sources[k] = "user: replaced"
        changes.setdefault("sources", sources)
        return dataclasses.replace(self, **changes)

    # --------------------------------------------------------------- arrays
    @property
    def q_array(self) -> np.ndarray:
        return np.array(self.q, dtype=np.float64)

    @property
    def accept_array(self) -> np.ndarray:
        return np.array(self.accept, dtype=np.float64)

    @property
    def init_array(self) -> np.ndarray:
        return np.array(self.init, dtype=np.float64)

    @property
    def entropy(self) -> np.ndarray:
        """Representative entropy of each bucket, (b + 1/2) h_max / B (nats)."""
        return (np.arange(self.buckets) + 0.5) * self.h_max / self.buckets

    @property
    def stationary(self) -> np.ndarray:
        """The stationary law of q (left eigenvector for eigenvalue 1, normalised)."""
        q = self.q_array
        a = np.vstack([q.T - np.eye(self.buckets), np.ones(self.buckets)])
        rhs = np.zeros(self.buckets + 1)
        rhs[-1] = 1.0
        return np.linalg.lstsq(a, rhs, rcond=None)[0]

    @property
    def mean_acceptance(self) -> float:
        """Acceptance of a first-position token under the stationary law."""
        return float(self.stationary @ self.accept_array)

    # -------------------------------------------------------------- C side
    def to_c(self, c: Any) -> None:
        """Fill an ``ahasd_profile`` (unused matrix entries zeroed)."""
        b = self.buckets
        c.buckets = b
        c.h_max = self.h_max
        flat = [0.0] * (MAX_BUCKETS * MAX_BUCKETS)
        for i, row in enumerate(self.q):
            flat[i * MAX_BUCKETS: i * MAX_BUCKETS + b] = row
        c.q = flat
        c.accept = list(self.accept) + [0.0] * (MAX_BUCKETS - b)
        c.init = list(self.init) + [0.0] * (MAX_BUCKETS - b)
        c.position_decay = self.position_decay
        c.pred_scale = self.pred_scale

    # ------------------------------------------------------------- printing
    def describe(self) -> str:
        """The resolved profile with its sources and fit record."""
        lines = [f"workload {self.name}: {self.description}".rstrip(": ")]
        scalars = [(f, getattr(self, f), self.sources.get(f, ""))
                   for f in ("buckets", "h_max", "position_decay", "pred_scale")]
        lines += P.describe_fields("fields:", scalars)[1:]
        np_opts = dict(precision=3, suppress_small=True, max_line_width=100)
        for f in ("accept", "init"):
            arr = np.array2string(np.array(getattr(self, f)), **np_opts)
            lines.append(f"  {f}  {arr}  {self.sources.get(f, '')}".rstrip())
        lines.append(f"  q  {self.sources.get('q', '')}".rstrip())
        for row in self.q:
            lines.append("    " + np.array2string(np.array(row), **np_opts))
        lines.append(f"  -> mean acceptance (stationary, first position) "
                     f"{self.mean_acceptance:.4g}")
        if self.fit:
            lines.append(f"fit: method {self.fit.get('method', '?')}")
            for i, t in enumerate(self.fit.get("targets", [])):
                extra = ", ".join(f"{k}={v}" for k, v in t.items()
                                  if k not in ("statistic", "value", "source"))
                res = self.fit.get("residuals", [])
                r = f", residual {res[i]:.3g}" if i < len(res) and isinstance(
                    res[i], (int, float)) else ""
                lines.append(f"  {t.get('statistic')} = {t.get('value')} ({extra}){r}; "
                             f"source: {t.get('source', '')}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.name} (B={self.buckets}, mean acceptance {self.mean_acceptance:.3g})"


@lru_cache(maxsize=1024)
def _iid(alpha: float) -> Workload:
    """Workloads are immutable: one i.i.d. profile per alpha is shared."""
    return Workload._iid(alpha)


def _flat(v: Any) -> Any:
    return v.tolist() if isinstance(v, np.ndarray) else v


def _check_fit(table: dict[str, Any] | None, path: Path) -> dict[str, Any]:
    """Check the ``[fit]`` record: method (string), targets (tables with
    statistic, value, source, and policy parameters), residuals (numbers, one
    per target)."""
    if table is None:
        return {}
    allowed = ("method", "targets", "residuals")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{path}: [fit] unknown field '{key}'"
                              f"{P.close_names(key, allowed)}; allowed: {', '.join(allowed)}")
    if not isinstance(table.get("method"), str):
        raise ConfigError(f"{path}: [fit] field 'method' must be a string")
    targets = table.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ConfigError(f"{path}: [fit] field 'targets' must be an array of tables")
    for i, t in enumerate(targets):
        where = f"{path}: [fit] targets[{i}]"
        if not isinstance(t.get("statistic"), str):
            raise ConfigError(f"{where}: 'statistic' must be a string")
        v = t.get("value")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{where}: 'value' must be a number, got {v!r}")
        if not isinstance(t.get("source"), str) or not t["source"].strip():
            raise ConfigError(f"{where}: 'source' must be a non-empty string")
    residuals = table.get("residuals", [])
    if not isinstance(residuals, list) or not all(
            isinstance(r, (int, float)) and not isinstance(r, bool) for r in residuals):
        raise ConfigError(f"{path}: [fit] field 'residuals' must be an array of numbers")
    if residuals and len(residuals) != len(targets):
        raise ConfigError(f"{path}: [fit] has {len(residuals)} residuals for "
                          f"{len(targets)} targets")
    return dict(table)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Workload))
