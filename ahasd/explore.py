"""Design-space helpers: Pareto fronts, best points, sensitivities, optimisation.

- ``pareto(df, maximize=[...], minimize=[...])``: the non-dominated rows.
- ``best(df, by=..., maximize=None, n=1)``: the best rows by one output.
- ``sensitivity(config, params=[...])``: elasticities d ln(output) / d ln(input)
  at one design point by central differences, in one C call.
- ``optimize(config, over={...}, objective=..., constraints=...)``: the best
  draft length, threshold, queue depth or hardware split (C: integers
  enumerated, reals by GSL's Brent or Nelder-Mead minimiser).

Directions: an output "better when larger" (throughput_tok_s, tokens_per_j,
acceptance_rate, tokens_per_round, mean_accepted, committed_tokens) is
maximised; one "better when smaller" (latency, energy, edp, waste, idle
time, gaps, total time and energy) is minimised; for the others (busy
fractions, draft lengths, ...) say which (``maximize=`` or
``objective=("name", "max")``).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import presets as P
from ._native import ffi, lib, raise_for, workspace
from .api import _config
from .config import Config
from .errors import ConfigError
from .sweep import (CATEGORICAL, OUTPUTS, _c_chunk, _check_choice, _group_config, output_ids,
                    resolve_param, unknown_name)

__all__ = ["pareto", "best", "sensitivity", "optimize", "OptResult", "direction"]

_MAXIMIZE = ("throughput_tok_s", "tokens_per_j", "acceptance_rate", "tokens_per_round",
             "mean_accepted", "committed_tokens")
_MINIMIZE_WORDS = ("latency", "energy", "edp", "waste", "idle", "gap", "total_time")
#: Outputs shown by sensitivity() when outputs=None.
HEADLINE = ("throughput_tok_s", "latency_per_token_s", "energy_per_token_j", "tokens_per_j",
            "edp_js")


def direction(name: str) -> str:
    """"max" or "min": the better direction of a canonical output, from its meaning."""
    if name in _MAXIMIZE:
        return "max"
    if any(w in name for w in _MINIMIZE_WORDS):
        return "min"
    raise ConfigError(f"'{name}' has no better direction by its meaning; say maximize=True/False "
                      "(or objective=(name, 'max'/'min'))")


def _is_max(name: str, maximize: bool | str | None) -> bool:
    if maximize is None:
        return direction(name) == "max"
    if isinstance(maximize, str):
        if maximize not in ("max", "min"):
            raise ConfigError(f"direction {maximize!r} is not allowed: must be 'max' or 'min'")
        return maximize == "max"
    return bool(maximize)


# --------------------------------------------------------------------------
# Pareto front and best rows
# --------------------------------------------------------------------------
def _as_list(v: str | Iterable[str] | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def _usable(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    for c in cols:
        if c not in df.columns:
            raise ConfigError(f"column '{c}' is not in the frame{P.close_names(c, map(str, df.columns))}")
    ok = np.ones(len(df), dtype=bool)
    if "error" in df.columns:
        ok &= df["error"].isna().to_numpy()
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
        ok &= np.isfinite(v)
    return ok


def pareto(df: pd.DataFrame, maximize: str | Iterable[str] | None = None,
           minimize: str | Iterable[str] | None = None) -> pd.DataFrame:
    """The rows of ``df`` no other row dominates.

    A row dominates another when it is at least as good in every objective
    (``maximize`` columns larger, ``minimize`` columns smaller) and strictly
    better in one; equal rows do not dominate each other (both stay).  Rows
    with an error or a NaN objective are ignored.  Sorted best first by the
    first objective, then the next ones; the original index is kept.
    """
    mx, mn = _as_list(maximize), _as_list(minimize)
    cols = mx + mn
    if not cols:
        raise ConfigError("pareto needs at least one objective: maximize=[...] or minimize=[...]")
    ok = _usable(df, cols)
    pos = np.flatnonzero(ok)
    # costs: smaller is better in every column
    cost = np.column_stack([-df[c].to_numpy(dtype=np.float64)[pos] for c in mx]
                           + [df[c].to_numpy(dtype=np.float64)[pos] for c in mn]) \
        if len(pos) else np.empty((0, len(cols)))
    order = np.lexsort(cost.T[::-1]) if len(pos) else np.empty(0, dtype=np.int64)
    cost, pos = cost[order], pos[order]
    # Sorted lexicographically, a row can only be dominated by rows before it.
    front = _front2(cost) if cost.shape[1] == 2 else _front_k(cost)
    return df.iloc[pos[front]]


def _front2(cost: np.ndarray) -> np.ndarray:
    """Two objectives, rows sorted: on the front iff the second cost beats every
    earlier row's (equal rows share their first member's fate).  O(n)."""
    if len(cost) == 0:
        return np.empty(0, dtype=np.int64)
    c1, c2 = cost[:, 0], cost[:, 1]
    prev_min = np.concatenate([[np.inf], np.minimum.accumulate(c2)[:-1]])
    new = np.concatenate([[True], (c1[1:] != c1[:-1]) | (c2[1:] != c2[:-1])])
    keep = (c2 < prev_min)[new][np.cumsum(new) - 1]
    return np.flatnonzero(keep)


def _front_k(cost: np.ndarray) -> np.ndarray:
    """Any number of objectives, rows sorted: each front row drops the later rows
    it dominates.  O(n x front size)."""
    idx = np.arange(len(cost))
    i = 0
    while i < len(idx):
        c = cost[idx[i]]
        later = idx[i + 1:]
        dom = np.all(cost[later] >= c, axis=1) & np.any(cost[later] > c, axis=1)
        if dom.any():
            idx = np.concatenate([idx[: i + 1], later[~dom]])
        i += 1
    return idx


def best(df: pd.DataFrame, by: str, maximize: bool | None = None, n: int = 1) -> pd.DataFrame:
    """The ``n`` best rows by column ``by`` (rows with an error or NaN ignored).

    ``maximize=None`` infers the direction from the output's meaning
    (throughput, tokens per joule, acceptance: larger; energy, latency, EDP,
    waste: smaller).
    """
    ok = _usable(df, [by])
    mx = _is_max(by, maximize)
    n = P.as_int(n, "n")
    if n < 1:
        raise ConfigError(f"n = {n} is not allowed: must be >= 1")
    sub = df[ok]
    return sub.sort_values(by, ascending=not mx, kind="stable").head(n)


# --------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------
def _param_value(cfg: Config, pid: int, name: str) -> float:
    v = ffi.new("double *")
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_param_get(cfg.to_c(), pid, v, err)
    if code < 0:
        raise_for(code, err)
    return float(v[0])


def sensitivity(config: Config | None = None, params: Sequence[str] = (),
                outputs: str | Sequence[str] | None = None, rel_step: float = 1e-3,
                **estimate_kwargs: Any) -> pd.DataFrame:
    """Elasticities d ln(output) / d ln(param) at one design point.

    Central differences through one ``ahasd_sweep`` call: a real parameter x
    is moved to x (1 +- rel_step); an integer parameter by +-1 (noted).  A
    parameter whose value is 0 gets the derivative d output / d param
    instead (step rel_step, absolute, in the parameter's unit; column
    ``measure`` says which).  When one side fails (a bound), a one-sided
    difference is used and noted.

    config / ``**estimate_kwargs``: the design point (as for
    :func:`ahasd.estimate`); params: numeric parameter names (as for
    sweep axes); outputs: default the headline five.

    Returns a DataFrame indexed by parameter: one column per output, then
    ``value`` (the parameter at the point), ``step``, ``measure``
    ("elasticity" or "derivative") and ``note``.  ``df.attrs["base"]``:
    the outputs at the point.
    """
    cfg = _config(config, estimate_kwargs)
    names = [params] if isinstance(params, str) else list(params)
    if not names:
        raise ConfigError("sensitivity needs params=[...] (numeric parameter names)")
    h = P.as_real(rel_step, "rel_step")
    if not 0 < h < 0.5:
        raise ConfigError(f"rel_step = {h} is not allowed: must be in (0, 0.5)")
    oids = output_ids(HEADLINE if outputs is None else outputs)
    resolved = []
    for nm in names:
        r = resolve_param(nm, cfg)
        if r is None:
            raise unknown_name(nm, "sensitivity parameter")
        resolved.append(r)
    P_ = len(resolved)
    x0 = np.array([_param_value(cfg, pid, nm) for nm, (_, pid, _) in zip(names, resolved)])
    steps = np.empty(P_)
    for p, (_, _, is_int) in enumerate(resolved):
        steps[p] = 1.0 if is_int else (h * abs(x0[p]) if x0[p] != 0 else h)
    # point 0: the base; 1 + 2p: param p - step; 2 + 2p: param p + step
    vals = np.repeat(x0[:, None], 1 + 2 * P_, axis=1)
    for p in range(P_):
        vals[p, 1 + 2 * p] -= steps[p]
        vals[p, 2 + 2 * p] += steps[p]
    out, st = _c_chunk(cfg.to_c(), [r[1] for r in resolved], vals, oids, False, 0, 1)
    if st[0] != 0:
        msg = _msg_at(cfg, resolved, vals[:, 0])
        raise ConfigError(f"sensitivity: the design point itself fails: {msg}")
    y0 = out[0]
    rows = []
    for p, (nm, (reg, _, is_int)) in enumerate(zip(names, resolved)):
        lo_ok, hi_ok = st[1 + 2 * p] == 0, st[2 + 2 * p] == 0
        notes = []
        if is_int:
            notes.append("integer: +/-1 steps")
        if lo_ok and hi_ok:
            d = (out[2 + 2 * p] - out[1 + 2 * p]) / (2 * steps[p])
        elif hi_ok:
            d = (out[2 + 2 * p] - y0) / steps[p]
            notes.append(f"one-sided (x - step fails: {_msg_at(cfg, resolved, vals[:, 1 + 2 * p])})")
        elif lo_ok:
            d = (y0 - out[1 + 2 * p]) / steps[p]
            notes.append(f"one-sided (x + step fails: {_msg_at(cfg, resolved, vals[:, 2 + 2 * p])})")
        else:
            d = np.full(len(oids), np.nan)
            notes.append("both steps fail")
        if x0[p] == 0:
            measure = "derivative"
            notes.append("value is 0: d output / d param (per unit of the parameter)")
            row = d
        else:
            measure = "elasticity"
            with np.errstate(divide="ignore", invalid="ignore"):
                row = np.where(y0 != 0, d * x0[p] / y0, np.nan)
        rec: dict[str, Any] = {OUTPUTS[o]: float(row[k]) for k, o in enumerate(oids)}
        rec.update(value=int(x0[p]) if is_int else float(x0[p]), step=float(steps[p]),
                   measure=measure, note="; ".join(notes))
        rows.append(rec)
    df = pd.DataFrame(rows, index=pd.Index(names, name="param"))
    df.attrs["base"] = {OUTPUTS[o]: float(y0[k]) for k, o in enumerate(oids)}
    return df


def _msg_at(cfg: Config, resolved: list[tuple[str, int, bool]], values: np.ndarray) -> str:
    from .sweep import _point_message
    return _point_message(cfg, [r[1] for r in resolved], [r[0] for r in resolved], values,
                          False, 0, 1)


# --------------------------------------------------------------------------
# Optimisation
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class OptResult:
    """The outcome of :func:`optimize`.

    optimum: the best value of each parameter in ``over`` (ints for integer
    parameters, the chosen name/object for categorical ones); objective: the
    output optimised and ``maximize`` its direction; value: the objective at
    the optimum (SI units; NaN if nothing feasible); start_value: at the
    configuration as given (NaN if it fails); improvement: value / start
    (maximising) or start / value (minimising), > 1 means better; n_evals:
    model evaluations; converged: every continuous search met its
    tolerance within the budget; feasible: a point met every constraint;
    config: the Config at the optimum (None if not feasible).
    """

    optimum: dict[str, Any]
    objective: str
    maximize: bool
    value: float
    start_value: float
    improvement: float
    n_evals: int
    converged: bool
    feasible: bool
    config: Config | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        opt = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in self.optimum.items())
        way = "max" if self.maximize else "min"
        if not self.feasible:
            return f"optimize {way} {self.objective}: no feasible point ({self.n_evals} evaluations)"
        return (f"optimize {way} {self.objective}: {self.value:.6g} at {opt} (start "
                f"{self.start_value:.6g}, x{self.improvement:.4g}; {self.n_evals} evaluations"
                f"{'' if self.converged else ', not converged'})")


def _objective(objective: str | tuple[str, str]) -> tuple[str, bool]:
    if isinstance(objective, tuple):
        if len(objective) != 2:
            raise ConfigError(f"objective = {objective!r} is not allowed: give a name or "
                              "(name, 'max'/'min')")
        name, way = objective
        output_ids([name])
        return name, _is_max(name, way)
    output_ids([objective])
    return objective, direction(objective) == "max"


def _constraints(constraints: Mapping[str, Any] | None) -> tuple[list[int], list[float], list[float]]:
    ids: list[int] = []
    lo: list[float] = []
    hi: list[float] = []
    for name, b in (constraints or {}).items():
        ids += output_ids([name])
        if not (isinstance(b, (tuple, list)) and len(b) == 2):
            raise ConfigError(f"constraint {name} = {b!r} is not allowed: must be (lo, hi) with "
                              "None for an open side")
        lo.append(-math.inf if b[0] is None else P.as_real(b[0], f"constraints[{name!r}][0]"))
        hi.append(math.inf if b[1] is None else P.as_real(b[1], f"constraints[{name!r}][1]"))
        if lo[-1] > hi[-1]:
            raise ConfigError(f"constraint {name} = {b!r} is not allowed: lo must be <= hi")
    return ids, lo, hi


@dataclass
class _Range:
    name: str
    reg: str
    pid: int
    is_int: bool
    lo: float
    hi: float


def _split_over(cfg: Config, over: Mapping[str, Any]) -> tuple[list[_Range], dict[str, list[Any]]]:
    """Ranges (tuples (lo, hi) of numeric parameters) and choices (lists)."""
    ranges: list[_Range] = []
    choices: dict[str, list[Any]] = {}
    for name, spec in over.items():
        if isinstance(spec, tuple):
            if name in CATEGORICAL:
                raise ConfigError(f"over[{name!r}] = {spec!r} is not allowed: a categorical "
                                  "input takes a list of choices")
            r = resolve_param(name, cfg)
            if r is None:
                raise unknown_name(name, "optimize parameter")
            if len(spec) != 2:
                raise ConfigError(f"over[{name!r}] = {spec!r} is not allowed: a range is a tuple "
                                  "(lo, hi); a list enumerates choices")
            lo = P.as_real(spec[0], f"over[{name!r}][0]")
            hi = P.as_real(spec[1], f"over[{name!r}][1]")
            if lo > hi:
                raise ConfigError(f"over[{name!r}] = {spec!r} is not allowed: lo must be <= hi")
            if r[2] and (lo != int(lo) or hi != int(hi)):
                raise ConfigError(f"over[{name!r}] = {spec!r} is not allowed: {name} is an "
                                  "integer parameter, its bounds must be integers")
            ranges.append(_Range(name, r[0], r[1], r[2], lo, hi))
        elif isinstance(spec, (list, np.ndarray)) or (hasattr(spec, "__iter__")
                                                      and not isinstance(spec, (str, Mapping))):
            vals = list(spec)
            if not vals:
                raise ConfigError(f"over[{name!r}] is empty: give at least one choice")
            for v in vals:
                _check_choice(name, v)
            if name not in CATEGORICAL and resolve_param(name, cfg) is None:
                try:
                    cfg._route(name)
                except ConfigError:
                    raise unknown_name(name, "optimize parameter") from None
            choices[name] = vals
        else:
            raise ConfigError(f"over[{name!r}] = {spec!r} is not allowed: a tuple (lo, hi) for a "
                              "numeric range or a list of choices")
    return ranges, choices


def optimize(config: Config | None = None, *, over: Mapping[str, Any],
             objective: str | tuple[str, str] = "throughput_tok_s",
             constraints: Mapping[str, Any] | None = None, max_evals: int = 2000,
             **estimate_kwargs: Any) -> OptResult:
    """The best values of some parameters of a design point for one output.

    over: name -> (lo, hi) for a numeric parameter (integers such as k,
        l_max, m_max enumerated over every value; reals such as svip_h or
        pim.mem_bw_bytes_per_s searched within the bounds by GSL's Brent
        minimiser, or Nelder-Mead for several), or name -> [choices] (a
        list: categorical inputs such as policy, schedule, hardware, or
        numeric values to try) enumerated around the C search.
    objective: an output name (direction from its meaning) or (name,
        "max"/"min").
    constraints: output -> (lo, hi), None for an open side; infeasible
        points (and points that fail) are never chosen.
    max_evals: model evaluations in all (shared evenly between choices).
    config / ``**estimate_kwargs``: the starting design point.

    Returns an :class:`OptResult`.
    """
    cfg = _config(config, estimate_kwargs)
    name, mx = _objective(objective)
    out_id = OUTPUTS.index(name)
    cids, clo, chi = _constraints(constraints)
    if not isinstance(over, Mapping) or not over:
        raise ConfigError("over must be a non-empty dict: name -> (lo, hi) or [choices]")
    ranges, choices = _split_over(cfg, over)
    max_evals = P.as_cint(max_evals, "max_evals", 1)
    combos = list(itertools.product(*choices.values())) if choices else [()]
    if max_evals < len(combos):
        raise ConfigError(f"max_evals = {max_evals} is not allowed: must be at least the "
                          f"{len(combos)} combinations of choices")
    start = _start_value(cfg, out_id)
    best_val, best_opt, best_cfg = math.nan, {}, None
    n_evals, converged, feasible = 0, True, False
    share = max_evals // len(combos)
    for combo in combos:
        choice = dict(zip(choices, combo))
        try:
            ccfg = _group_config(cfg, choice)
        except ConfigError:             # an impossible combination (e.g. sync on one device)
            continue
        if ranges:
            x, val, ok, conv, ne = _c_optimize(ccfg, ranges, out_id, mx, cids, clo, chi, share)
        else:
            x, val, ok, conv, ne = [], *_evaluate(ccfg, out_id, cids, clo, chi), True, 1
        n_evals += ne
        converged = converged and conv
        if ok and (not feasible or (val > best_val if mx else val < best_val)):
            feasible = True
            best_val = val
            found = {r.name: (int(round(xi)) if r.is_int else float(xi))
                     for r, xi in zip(ranges, x)}
            best_opt = {**choice, **found}
            best_cfg = (ccfg, found)
    cfg_opt = None
    if best_cfg is not None:
        try:
            cfg_opt = best_cfg[0].replace(**best_cfg[1]) if best_cfg[1] else best_cfg[0]
        except ConfigError:
            cfg_opt = None
    if feasible and math.isfinite(start) and start != 0 and best_val != 0:
        imp = best_val / start if mx else start / best_val
    else:
        imp = math.nan
    return OptResult(optimum=best_opt, objective=name, maximize=mx, value=best_val,
                     start_value=start, improvement=imp, n_evals=n_evals,
                     converged=converged, feasible=feasible, config=cfg_opt)


def _start_value(cfg: Config, out_id: int) -> float:
    res = ffi.new("ahasd_result *")
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_estimate(cfg.to_c(), workspace(), res, err)
    return float(res.out[out_id]) if code == 0 else math.nan


def _evaluate(cfg: Config, out_id: int, cids: list[int], clo: list[float],
              chi: list[float]) -> tuple[float, bool]:
    res = ffi.new("ahasd_result *")
    err = ffi.new("ahasd_error *")
    if lib.ahasd_estimate(cfg.to_c(), workspace(), res, err) != 0:
        return math.nan, False
    v = float(res.out[out_id])
    ok = math.isfinite(v) and all(lo <= res.out[c] <= hi for c, lo, hi in zip(cids, clo, chi))
    return v, ok


def _c_optimize(cfg: Config, ranges: list[_Range], out_id: int, mx: bool, cids: list[int],
                clo: list[float], chi: list[float], max_evals: int
                ) -> tuple[list[float], float, bool, bool, int]:
    n = len(ranges)
    ids = ffi.new("int[]", [r.pid for r in ranges])
    lo = ffi.new("double[]", [r.lo for r in ranges])
    hi = ffi.new("double[]", [r.hi for r in ranges])
    nc = len(cids)
    c_ids = ffi.new("int[]", cids or [0])
    c_lo = ffi.new("double[]", clo or [0.0])
    c_hi = ffi.new("double[]", chi or [0.0])
    x = ffi.new("double[]", n)
    s = ffi.new("ahasd_opt_summary *")
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_optimize(cfg.to_c(), n, ids, lo, hi, out_id, 1 if mx else 0, nc,
                              c_ids if nc else ffi.NULL, c_lo if nc else ffi.NULL,
                              c_hi if nc else ffi.NULL, max_evals, x, s, workspace(), err)
    if code < 0:
        raise_for(code, err)
    return ([float(x[i]) for i in range(n)], float(s.best_value), bool(s.feasible),
            bool(s.converged), int(s.n_evals))
