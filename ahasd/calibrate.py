"""Calibration: fit model parameters to observed points, then predict others.

``calibrate(config, observations, params=[...])`` fits real parameters of the
configuration (registry names such as ``"npu.mem_bw_util"``,
``"pim.matrix_ops_per_s"``, ``"rollback_s"``, ``"alpha"``; see
``ahasd_param_name``) to observed outputs: throughput, energy per token or any
canonical output, measured at several configurations (a cycle-accurate
simulator, a phone, a paper's table).  The C core (``ahasd_calibrate``)
minimises the sum of squared relative residuals (model / observed - 1) with
GSL's trust-region least squares, keeps every parameter inside its bounds by a
smooth reparametrisation, and returns standard errors from the Jacobian at the
optimum scaled by the residual variance.

Observations are a DataFrame (or a list of dicts) with columns ``output`` (a
canonical output name), ``value`` (the observed value, > 0) and any keyword of
:meth:`ahasd.Config.replace` that sets that point apart from ``config``
(``k``, ``schedule``, ``gen_len``, ``target``, ``"pim.mem_bw_bytes_per_s"``,
...; missing or NaN cells mean "as in config"), or a column ``config`` of
whole :class:`ahasd.Config` objects.

Fit on some configurations and check the fit on others with
:meth:`CalibrationResult.predict`: a held-out error is the honest measure of a
calibration; the error on the fitted points is not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import presets as P
from ._native import call, ffi, lib, raise_for, workspace
from .config import Config
from .errors import ConfigError
from .result import OUTPUTS

__all__ = ["calibrate", "CalibrationResult", "default_bounds", "param_names"]


def param_names() -> list[str]:
    """Every parameter name the C registry knows (real and integer)."""
    return [ffi.string(lib.ahasd_param_name(i)).decode() for i in range(lib.ahasd_param_count())]


def _param_id(name: str) -> int:
    if not isinstance(name, str):
        raise ConfigError(f"parameter name {name!r} is not allowed: must be a string")
    pid = lib.ahasd_param_find(name.encode())
    if pid < 0:
        raise ConfigError(f"unknown parameter '{name}'{P.close_names(name, param_names())}; "
                          "use a registry name such as npu.mem_bw_util, pim.matrix_ops_per_s, "
                          "rollback_s or alpha")
    if lib.ahasd_param_is_int(pid) != 0:
        raise ConfigError(f"parameter '{name}' is an integer: calibrate fits real parameters "
                          "only (sweep integers instead)")
    return pid


def _param_get(cfg: Config, pid: int) -> float:
    v = ffi.new("double *")
    call(lib.ahasd_param_get, cfg.to_c(), pid, v)
    return float(v[0])


def default_bounds(name: str, x0: float) -> tuple[float, float]:
    """The bounds used when none are given: (0, 1) for fractions (``*_util``,
    ``alpha``, ``position_decay``), else (0, inf) for a positive start, (-inf, 0)
    for a negative one and (-inf, inf) for zero."""
    if name.endswith("_util") or name in ("alpha", "position_decay"):
        return (0.0, 1.0)
    if x0 > 0:
        return (0.0, math.inf)
    if x0 < 0:
        return (-math.inf, 0.0)
    return (-math.inf, math.inf)


def _records(observations: Any) -> list[dict[str, Any]]:
    if isinstance(observations, pd.DataFrame):
        recs = observations.to_dict("records")
    elif isinstance(observations, Mapping):
        raise ConfigError("observations must be a DataFrame or a list of dicts (one per "
                          "observed point), not a single dict")
    else:
        try:
            recs = [dict(r) for r in observations]
        except (TypeError, ValueError):
            raise ConfigError("observations must be a DataFrame or a list of dicts with keys "
                              "output, value and configuration changes") from None
    if not recs:
        raise ConfigError("observations is empty: give at least as many points as parameters")
    return recs


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return isinstance(v, float) and math.isnan(v)
    except TypeError:
        return False


def _point_config(base: Config | None, rec: Mapping[str, Any], i: int) -> Config:
    changes = {k: v for k, v in rec.items()
               if k not in ("output", "value", "config", "label") and not _missing(v)}
    cfg = rec.get("config")
    if _missing(cfg):
        cfg = base
    if cfg is None:
        raise ConfigError(f"observation {i}: no configuration (give config= or a 'config' "
                          "column)")
    if not isinstance(cfg, Config):
        raise ConfigError(f"observation {i}: config = {cfg!r} is not an ahasd.Config")
    for k, v in changes.items():
        if isinstance(v, (np.integer,)):
            changes[k] = int(v)
        elif isinstance(v, (np.floating,)):
            changes[k] = float(v)
    try:
        return cfg.replace(**changes) if changes else cfg
    except ConfigError as exc:
        raise ConfigError(f"observation {i}: {exc}") from None


def _output_id(name: Any, i: int) -> int:
    if name not in OUTPUTS:
        hint = P.close_names(name, OUTPUTS) if isinstance(name, str) else ""
        raise ConfigError(f"observation {i}: output = {name!r} is not a canonical output"
                          f"{hint}; one of {', '.join(OUTPUTS[:5])}, ...")
    return OUTPUTS.index(name)


def _build(base: Config | None, observations: Any, need_value: bool
           ) -> tuple[list[Config], list[int], list[float], list[dict[str, Any]]]:
    recs = _records(observations)
    cfgs, outs, vals = [], [], []
    for i, rec in enumerate(recs):
        outs.append(_output_id(rec.get("output", "throughput_tok_s"), i))
        cfgs.append(_point_config(base, rec, i))
        v = rec.get("value")
        if _missing(v):
            if need_value:
                raise ConfigError(f"observation {i}: no 'value' (the observed output; "
                                  f"got {v!r}, and NaN or None count as missing)")
            vals.append(math.nan)
        else:
            vals.append(P.as_real(v, f"observation {i}: value"))
    return cfgs, outs, vals, recs


def _c_configs(cfgs: Sequence[Config]) -> Any:
    arr = ffi.new("ahasd_config[]", len(cfgs))
    for i, c in enumerate(cfgs):
        arr[i] = c.to_c()[0]
    return arr


@dataclass(frozen=True)
class CalibrationResult:
    """A fit: the parameters' fitted ``values`` and standard errors ``stderr``
    (dicts by name; NaN without degrees of freedom, inf for a direction the
    data do not determine), the starting values ``x0``, the ``bounds``, the
    fit's ``chi2`` (sum of squared relative residuals), ``dof``, ``n_iter``,
    ``converged``, ``rms_rel_residual`` and ``residuals`` (a DataFrame of the
    fitted points: output, observed, fitted, rel_residual)."""

    params: tuple[str, ...]
    values: dict[str, float]
    stderr: dict[str, float]
    x0: dict[str, float]
    bounds: dict[str, tuple[float, float]]
    chi2: float
    dof: int
    n_iter: int
    converged: bool
    rms_rel_residual: float
    residuals: pd.DataFrame
    base: Config | None = field(default=None, repr=False)

    def _ids(self) -> list[int]:
        return [_param_id(n) for n in self.params]

    def predict(self, observations: Any = None, config: Config | None = None) -> pd.DataFrame:
        """The fitted model at other points: a DataFrame with columns output,
        predicted and, where the points carry a ``value``, observed and
        rel_error (predicted / observed - 1).  ``observations`` take the same
        form as for :func:`calibrate` (``value`` optional); ``config`` (default:
        the configuration of the fit) is the base of their changes."""
        base = config if config is not None else self.base
        cfgs, outs, vals, recs = _build(base, observations, need_value=False)
        ids = self._ids()
        ws = workspace()
        res = ffi.new("ahasd_result *")
        err = ffi.new("ahasd_error *")
        pred = []
        for cfg, o in zip(cfgs, outs):
            c = ffi.new("ahasd_config *", cfg.to_c()[0])
            for pid, name in zip(ids, self.params):
                call(lib.ahasd_param_set, c, pid, self.values[name])
            code = lib.ahasd_estimate(c, ws, res, err)
            if code < 0:
                raise_for(code, err)
            pred.append(float(res.out[o]))
        df = pd.DataFrame({"output": [OUTPUTS[o] for o in outs], "predicted": pred})
        if any(not math.isnan(v) for v in vals):
            df["observed"] = vals
            df["rel_error"] = df["predicted"] / df["observed"] - 1.0
        labels = [r.get("label") for r in recs]
        if any(not _missing(lb) for lb in labels):
            df.insert(0, "label", labels)
        return df

    def fitted_config(self, config: Config | None = None) -> Config:
        """``config`` (default: the fit's) with the fitted values set (through
        :meth:`Config.replace`, which takes the registry names)."""
        base = config if config is not None else self.base
        if base is None:
            raise ConfigError("no configuration to apply the fit to")
        return base.replace(**self.values)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: start, fitted value, standard error, bounds."""
        return pd.DataFrame({
            "param": list(self.params),
            "start": [self.x0[n] for n in self.params],
            "fitted": [self.values[n] for n in self.params],
            "stderr": [self.stderr[n] for n in self.params],
            "lo": [self.bounds[n][0] for n in self.params],
            "hi": [self.bounds[n][1] for n in self.params],
        })

    def __str__(self) -> str:
        lines = [f"calibration of {len(self.params)} parameter(s) on {len(self.residuals)} "
                 f"points: rms relative residual {self.rms_rel_residual:.3%}, chi2 "
                 f"{self.chi2:.4g}, dof {self.dof}, {self.n_iter} iterations"
                 f"{'' if self.converged else ' (NOT converged)'}"]
        for n in self.params:
            se = self.stderr[n]
            lines.append(f"  {n} = {P.format_value(n, self.values[n])} +- "
                         f"{P.format_value(n, se) if math.isfinite(se) else se} "
                         f"(start {P.format_value(n, self.x0[n])})")
        return "\n".join(lines)


def calibrate(config: Config | None = None, observations: Any = None,
              params: Iterable[str] = (), bounds: Mapping[str, tuple[float, float]] | None = None,
              *, x0: Mapping[str, float] | None = None) -> CalibrationResult:
    """Fit ``params`` of ``config`` to ``observations`` (see the module docstring).

    config: the base Config (observations change it per point; default
        ``Config()``); params: registry names of real parameters; bounds:
        name -> (lo, hi), open interval, infinities allowed (default
        :func:`default_bounds`); x0: starting values (default the config's,
        nudged inside the bounds).

    Returns a :class:`CalibrationResult`; ``result.predict(other_points)``
    evaluates the fitted model elsewhere.
    Example::

        obs = [{"output": "throughput_tok_s", "value": 5.1, "schedule": "autoregressive"},
               {"output": "throughput_tok_s", "value": 9.8, "schedule": "sync", "k": 4}, ...]
        fit = ahasd.calibrate(cfg, obs, params=["npu.mem_bw_util"])
    """
    if config is None:
        config = Config()
    if not isinstance(config, Config):
        raise ConfigError(f"config = {config!r} is not allowed: must be an ahasd.Config")
    params = tuple(params) if not isinstance(params, str) else (params,)
    if not params:
        raise ConfigError("params is empty: name the parameters to fit (e.g. "
                          "params=['npu.mem_bw_util'])")
    if len(set(params)) != len(params):
        raise ConfigError(f"params = {list(params)} repeats a parameter")
    ids = [_param_id(n) for n in params]
    if observations is None:
        raise ConfigError("observations are missing: a DataFrame or list of dicts with output, "
                          "value and configuration changes")
    cfgs, outs, vals, _ = _build(config, observations, need_value=True)
    for i, v in enumerate(vals):
        if not v > 0:
            raise ConfigError(f"observation {i}: value = {v!r} is not allowed: relative "
                              "residuals need an observed value > 0")
    bounds = dict(bounds or {})
    for name in bounds:
        if name not in params:
            raise ConfigError(f"bounds name '{name}', which is not among params {list(params)}")
    start: dict[str, float] = {}
    bnd: dict[str, tuple[float, float]] = {}
    for name, pid in zip(params, ids):
        v = (P.as_real(x0[name], f"x0[{name!r}]") if x0 is not None and name in x0
             else _param_get(cfgs[0], pid))
        lo, hi = bounds.get(name, default_bounds(name, v))
        lo, hi = float(lo), float(hi)
        if not lo < hi:
            raise ConfigError(f"bounds of '{name}' = ({lo}, {hi}): need lo < hi")
        # nudge the start strictly inside the open interval
        span = (hi - lo) if math.isfinite(hi - lo) else max(abs(v), 1.0)
        eps = 1e-6 * span
        if not v > lo:
            v = lo + eps if math.isfinite(lo) else v
        if not v < hi:
            v = hi - eps if math.isfinite(hi) else v
        start[name] = v
        bnd[name] = (lo, hi)
    n, p = len(cfgs), len(params)
    c_cfgs = _c_configs(cfgs)
    c_outs = ffi.new("int[]", outs)
    c_obs = ffi.new("double[]", vals)
    c_ids = ffi.new("int[]", ids)
    c_x = ffi.new("double[]", [start[k] for k in params])
    c_lo = ffi.new("double[]", [bnd[k][0] for k in params])
    c_hi = ffi.new("double[]", [bnd[k][1] for k in params])
    c_se = ffi.new("double[]", p)
    summ = ffi.new("ahasd_fit_summary *")
    call(lib.ahasd_calibrate, c_cfgs, n, c_outs, c_obs, p, c_ids, c_x, c_lo, c_hi, c_se, summ,
         workspace())
    values = {k: float(c_x[i]) for i, k in enumerate(params)}
    stderr = {k: float(c_se[i]) for i, k in enumerate(params)}
    result = CalibrationResult(
        params=params, values=values, stderr=stderr, x0=start, bounds=bnd,
        chi2=float(summ.chi2), dof=int(summ.dof), n_iter=int(summ.n_iter),
        converged=bool(summ.converged), rms_rel_residual=float(summ.rms_rel_residual),
        residuals=pd.DataFrame(), base=config)
    fitted = result.predict([{**r, "config": c} for r, c in
                             zip(({"output": OUTPUTS[o], "value": v} for o, v in
                                  zip(outs, vals)), cfgs)])
    object.__setattr__(result, "residuals", fitted.rename(
        columns={"predicted": "fitted", "rel_error": "rel_residual"}))
    return result
