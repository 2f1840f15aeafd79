"""Fitting workload profiles: to published statistics, and to per-token traces.

Two ways to get an entropy/acceptance profile (``ahasd.Workload``):

``fit_profile(targets, ...)``
    Least-squares fit of a low-dimensional profile family to observed
    statistics (Leviathan et al.'s alpha, mean tokens per round at a draft
    length, mean draft length or acceptance rate under a policy, the gain of
    an adaptive policy over the best fixed draft length).  Every statistic is
    computed exactly by the C core (``ahasd_draft_dist``), so the profile is
    fitted to the same semantics the estimates and the simulator use.

``profile_from_trace(path_or_df, ...)``
    Estimation from a per-token trace (columns ``entropy`` in nats,
    ``accepted`` 0/1, optionally ``batch`` and ``position``; see
    docs/DATA.md): entropies are bucketed, the bucket chain is estimated from
    transition counts, acceptance per bucket from counts.

The profile family of ``fit_profile`` (B buckets over [0, h_max], bucket b at
entropy H_b = (b + 1/2) h_max / B):

- regimes: with ``regimes=2`` the buckets below ``split`` (default B/2) form
  the *constrained* regime (low entropy) and the others the *free* regime;
  ``regimes=1`` is one block.  The regime is a two-state Markov chain with
  stationary share ``pi_low`` of the constrained regime and autocorrelation
  ``lam`` (its second eigenvalue; 0: regimes i.i.d. token to token, near 1:
  long runs), i.e. P(leave low) = (1 - lam)(1 - pi_low), P(leave high) =
  (1 - lam) pi_low.
- within a regime the next bucket is drawn from w_r(b) proportional to
  exp(-s_r H_b) over the regime's buckets (``s_low``, ``s_high``: shapes;
  s > 0 puts mass on the low-entropy end).  Hence
  q[b][b'] = P(regime r(b) -> r(b')) w_{r(b')}(b'), a block-structured Q whose
  rows within a block are equal.
- acceptance a_b = clip(a0 - sqrt(g H_b), 0, 1): the entropy lower bound on
  acceptance that SVIP and AdaEDL build on (1 - sqrt(c H)), with a free
  intercept ``a0`` and slope ``g``.
- ``decay``: position_decay; ``pred_scale`` is kept at 1 (calibrated).

Parameters not in ``free`` keep their values (``DEFAULTS``, or ``start``); the
free ones are fitted with ``scipy.optimize.least_squares`` (trust region,
bounded by ``BOUNDS``) on relative residuals weight * (model / value - 1).
The returned profile's ``fit`` record holds the targets and, per target,
the residual model - value in the statistic's own units.

Statistics (``statistic`` of a target; policies as in ``ahasd.Policy``):

- ``alpha``: mean acceptance probability of a drafted token under the
  stationary law of the chain, without position effects (Leviathan et al.'s
  alpha = E[beta]); computed as E[A] of fixed k = 1 batches chained through
  their exit buckets.
- ``tokens_per_round``, ``mean_accepted``, ``mean_draft_len``,
  ``acceptance_rate``, ``p_full``: of the policy's batches in the long run
  (``AHASD_START_STATIONARY``).
- ``adaptive_gain``: speed of the policy over the speed of the best fixed
  draft length k in [``k_lo``, ``k_hi``] (default the policy's k_min..k_max),
  minus 1, with speed = E[A + 1] / (E[K] c + 1) (serial speculative decoding,
  one verification costs one target step, c = ``cost_ratio`` = draft/target
  time per token).  ``specdecpp_tau = "best"`` (default for this statistic)
  takes the best threshold on a grid of 0.05..0.95.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ._native import call, ffi, lib, workspace
from .errors import ConfigError, NumericalError

__all__ = ["fit_profile", "profile_statistic", "profile_arrays", "load_trace",
           "profile_from_trace", "DEFAULTS", "BOUNDS", "STATISTICS"]

MAX_BUCKETS: int = lib.AHASD_MAX_BUCKETS

#: Defaults of the profile family (each an assumption unless fitted).
DEFAULTS: dict[str, float] = {
    "a0": 1.0,        # acceptance intercept
    "g": 0.15,        # entropy slope: SVIP's constant c = 0.15 (MODEL.md)
    "lam": 0.6,       # regime autocorrelation
    "pi_low": 0.7,    # share of constrained (low-entropy) tokens
    "s_low": 1.5,     # within-regime shape of the constrained regime (1/nats)
    "s_high": 0.5,    # within-regime shape of the free regime (1/nats)
    "decay": 1.0,     # position_decay
}
#: Bounds of each parameter in the fit.
BOUNDS: dict[str, tuple[float, float]] = {
    "a0": (0.2, 1.5), "g": (0.0, 2.0), "lam": (0.0, 0.995), "pi_low": (0.02, 0.98),
    "s_low": (-6.0, 6.0), "s_high": (-6.0, 6.0), "decay": (0.7, 1.0),
}
STATISTICS = ("alpha", "tokens_per_round", "mean_accepted", "mean_draft_len",
              "acceptance_rate", "p_full", "adaptive_gain")
_TARGET_KEYS = {"statistic", "value", "source", "weight", "policy", "cost_ratio",
                "k_lo", "k_hi", "note"}
_POLICY_KINDS = ("fixed", "svip", "adaedl", "specdecpp", "banditspec")
_POLICY_FIELDS = ("k", "k_min", "k_max", "svip_h", "svip_c", "adaedl_gamma",
                  "adaedl_lambda", "specdecpp_tau", "specdecpp_grid", "arms",
                  "bandit_explore", "bandit_cost_ratio")
_TAU_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))


# ---------------------------------------------------------------------------
# The profile family
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Family:
    buckets: int
    h_max: float
    regimes: int
    split: int

    @property
    def entropy(self) -> np.ndarray:
        return (np.arange(self.buckets) + 0.5) * self.h_max / self.buckets


def _family(buckets: int, h_max: float, regimes: int, split: int | None) -> _Family:
    if not isinstance(buckets, (int, np.integer)) or not 1 <= buckets <= MAX_BUCKETS:
        raise ConfigError(f"buckets = {buckets!r} is not allowed: must be an integer in "
                          f"[1, {MAX_BUCKETS}]")
    if not (isinstance(h_max, (int, float)) and math.isfinite(h_max) and h_max > 0):
        raise ConfigError(f"h_max = {h_max!r} is not allowed: must be a finite number > 0")
    if regimes not in (1, 2):
        raise ConfigError(f"regimes = {regimes!r} is not allowed: must be 1 or 2")
    if regimes == 2:
        split = buckets // 2 if split is None else split
        if not isinstance(split, (int, np.integer)) or not 1 <= split <= buckets - 1:
            raise ConfigError(f"split = {split!r} is not allowed: with 2 regimes it must be "
                              f"an integer in [1, {buckets - 1}]")
    else:
        split = buckets
    return _Family(int(buckets), float(h_max), int(regimes), int(split))


def profile_arrays(params: Mapping[str, float], buckets: int = 8, h_max: float = 4.0,
                   regimes: int = 2, split: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """(q, accept, position_decay) of the profile family at ``params``
    (missing parameters take ``DEFAULTS``)."""
    fam = _family(buckets, h_max, regimes, split)
    p = {**DEFAULTS, **params}
    bad = [k for k in p if k not in DEFAULTS]
    if bad:
        raise ConfigError(f"unknown profile parameter '{bad[0]}'; parameters: "
                          f"{', '.join(DEFAULTS)}")
    return _arrays(fam, p)


def _arrays(fam: _Family, p: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, float]:
    B, m, H = fam.buckets, fam.split, fam.entropy
    low = np.arange(B) < m
    q = np.zeros((B, B))
    if fam.regimes == 1:
        w = np.exp(-p["s_low"] * (H - H[0]))
        q[:, :] = w / w.sum()
    else:
        lam, pi = p["lam"], p["pi_low"]
        leave = {True: (1.0 - lam) * (1.0 - pi), False: (1.0 - lam) * pi}
        w_low = np.where(low, np.exp(-p["s_low"] * (H - H[0])), 0.0)
        w_high = np.where(~low, np.exp(-p["s_high"] * (H - H[m])), 0.0)
        w_low /= w_low.sum()
        w_high /= w_high.sum()
        for b in range(B):
            stay = 1.0 - leave[bool(low[b])]
            if low[b]:
                q[b] = stay * w_low + (1.0 - stay) * w_high
            else:
                q[b] = stay * w_high + (1.0 - stay) * w_low
    q /= q.sum(axis=1, keepdims=True)
    accept = np.clip(p["a0"] - np.sqrt(max(p["g"], 0.0) * H), 0.0, 1.0)
    return q, accept, float(p["decay"])


# ---------------------------------------------------------------------------
# C structs
# ---------------------------------------------------------------------------
def _fill_profile(c: Any, q: np.ndarray, accept: np.ndarray, h_max: float,
                  init: np.ndarray | None = None, decay: float = 1.0,
                  pred_scale: float = 1.0) -> None:
    """Fill an ``ahasd_profile *`` from arrays (entries beyond B zeroed)."""
    B = len(accept)
    c.buckets = B
    c.h_max = float(h_max)
    flat = np.zeros(MAX_BUCKETS * MAX_BUCKETS)
    for i in range(B):
        flat[i * MAX_BUCKETS: i * MAX_BUCKETS + B] = q[i]
    c.q = flat.tolist()
    c.accept = list(map(float, accept)) + [0.0] * (MAX_BUCKETS - B)
    init = np.zeros(B) if init is None else np.asarray(init, dtype=np.float64)
    c.init = list(map(float, init)) + [0.0] * (MAX_BUCKETS - B)
    c.position_decay = float(decay)
    c.pred_scale = float(pred_scale)


def _default_policy() -> Any:
    cfg = ffi.new("ahasd_config *")
    call(lib.ahasd_config_default, cfg)
    return cfg.policy


_POLICY_DEFAULTS: dict[str, Any] = {}


def _fill_policy(c: Any, spec: Mapping[str, Any]) -> None:
    """Fill an ``ahasd_policy *``: library defaults, then the spec's fields
    (``policy`` = kind name; ``arms`` a sequence)."""
    if not _POLICY_DEFAULTS:
        d = _default_policy()
        for f in _POLICY_FIELDS:
            _POLICY_DEFAULTS[f] = ([d.arms[i] for i in range(d.n_arms)] if f == "arms"
                                   else getattr(d, f))
    kind = spec.get("policy", "fixed")
    if kind not in _POLICY_KINDS:
        raise ConfigError(f"policy = {kind!r} is not allowed: must be one of "
                          f"{', '.join(_POLICY_KINDS)}")
    vals = {**_POLICY_DEFAULTS, **{k: v for k, v in spec.items() if k in _POLICY_FIELDS}}
    if kind == "fixed" and "k" in spec:
        # a fixed length needs no bounds: open them unless given
        vals["k_min"] = spec.get("k_min", 1)
        vals["k_max"] = spec.get("k_max", lib.AHASD_MAX_K)
    c.kind = _POLICY_KINDS.index(kind)
    for f in _POLICY_FIELDS:
        if f == "arms":
            arms = list(vals["arms"])
            c.n_arms = len(arms)
            c.arms = arms + [0] * (lib.AHASD_MAX_ARMS - len(arms))
        elif f == "specdecpp_tau" and vals[f] == "best":
            c.specdecpp_tau = 0.5
        else:
            setattr(c, f, vals[f])


def _summary(prof: Any, spec: Mapping[str, Any], start: int | None = None) -> Any:
    pol = ffi.new("ahasd_policy *")
    _fill_policy(pol, spec)
    out = ffi.new("ahasd_draft_summary *")
    call(lib.ahasd_draft_dist, prof, pol,
         lib.AHASD_START_STATIONARY if start is None else start, workspace(), out)
    return out


def _statistic(prof: Any, target: Mapping[str, Any]) -> float:
    stat = target["statistic"]
    if stat == "alpha":
        return float(_summary(prof, {"policy": "fixed", "k": 1, "k_min": 1}).mean_accepted)
    if stat == "adaptive_gain":
        return _adaptive_gain(prof, target)
    s = _summary(prof, target)
    return float(getattr(s, stat))


def _speed(s: Any, c: float) -> float:
    return s.tokens_per_round / (s.mean_draft_len * c + 1.0)


def _adaptive_gain(prof: Any, target: Mapping[str, Any]) -> float:
    c = target.get("cost_ratio")
    if not (isinstance(c, (int, float)) and math.isfinite(c) and c >= 0):
        raise ConfigError(f"adaptive_gain needs cost_ratio (a finite number >= 0), got {c!r}")
    spec = dict(target)
    spec.setdefault("specdecpp_tau", "best")
    k_lo = int(spec.get("k_lo", spec.get("k_min", 1)))
    k_hi = int(spec.get("k_hi", spec.get("k_max", 16)))
    best_fixed = max(_speed(_summary(prof, {"policy": "fixed", "k": k, "k_min": 1,
                                            "k_max": AHASD_MAX_K}), c)
                     for k in range(k_lo, k_hi + 1))
    if spec.get("policy") == "specdecpp" and spec["specdecpp_tau"] == "best":
        adaptive = max(_speed(_summary(prof, {**spec, "specdecpp_tau": t}), c)
                       for t in _TAU_GRID)
    else:
        adaptive = _speed(_summary(prof, spec), c)
    return adaptive / best_fixed - 1.0


AHASD_MAX_K: int = lib.AHASD_MAX_K


def profile_statistic(workload: Any, target: Mapping[str, Any]) -> float:
    """One statistic (a target dict without ``value``) of a ``Workload``, by the C core."""
    _check_target(dict(target, value=1.0, source="-"), 0, need_value=False)
    prof = ffi.new("ahasd_profile *")
    _fill_profile(prof, np.asarray(workload.q, dtype=np.float64),
                  np.asarray(workload.accept, dtype=np.float64), workload.h_max,
                  np.asarray(workload.init, dtype=np.float64), workload.position_decay,
                  workload.pred_scale)
    return _statistic(prof, target)


# ---------------------------------------------------------------------------
# fit_profile
# ---------------------------------------------------------------------------
def _check_target(t: Mapping[str, Any], i: int, need_value: bool = True) -> None:
    where = f"targets[{i}]"
    if not isinstance(t, Mapping):
        raise ConfigError(f"{where} must be a dict, got {t!r}")
    bad = [k for k in t if k not in _TARGET_KEYS and k not in _POLICY_FIELDS]
    if bad:
        raise ConfigError(f"{where}: unknown key '{bad[0]}'; allowed: "
                          f"{', '.join(sorted(_TARGET_KEYS | set(_POLICY_FIELDS)))}")
    if t.get("statistic") not in STATISTICS:
        raise ConfigError(f"{where}: statistic = {t.get('statistic')!r} is not allowed: "
                          f"must be one of {', '.join(STATISTICS)}")
    v = t.get("value")
    if need_value and (isinstance(v, bool) or not isinstance(v, (int, float))
                       or not math.isfinite(v) or v == 0):
        raise ConfigError(f"{where}: value = {v!r} must be a finite non-zero number")
    w = t.get("weight", 1.0)
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not (w > 0 and
                                                                     math.isfinite(w)):
        raise ConfigError(f"{where}: weight = {w!r} must be a finite number > 0")
    if not isinstance(t.get("source", ""), str) or not t.get("source", "").strip():
        raise ConfigError(f"{where}: source must be a non-empty string (where the number "
                          "comes from)")


def fit_profile(targets: Sequence[Mapping[str, Any]], buckets: int = 8, h_max: float = 4.0,
                regimes: int = 2, split: int | None = None,
                free: Iterable[str] = ("a0", "lam"), start: Mapping[str, float] | None = None,
                bounds: Mapping[str, tuple[float, float]] | None = None,
                name: str = "fitted", description: str = "",
                assumptions: Mapping[str, str] | None = None, **least_squares_kw: Any) -> Any:
    """Fit the profile family (module docstring) to ``targets``; returns a ``Workload``.

    targets: dicts with ``statistic``, ``value``, ``source`` and the policy
    (``policy`` = kind name plus its parameters, e.g. ``k``), optionally
    ``weight``, ``cost_ratio``/``k_lo``/``k_hi`` (adaptive_gain), ``note``.
    free: the parameters fitted (others keep ``start`` or ``DEFAULTS``).
    bounds: per-parameter (low, high) replacing ``BOUNDS`` entries.
    assumptions: text per fixed parameter, recorded in the profile's sources.
    Extra keyword arguments go to ``scipy.optimize.least_squares``.
    """
    try:
        from scipy.optimize import least_squares
    except ImportError as exc:  # scipy is an optional dependency
        raise ImportError("fit_profile needs SciPy: pip install 'ahasd[fit]' "
                          "(or pip install scipy)") from exc

    from .workload import Workload

    fam = _family(buckets, h_max, regimes, split)
    targets = [dict(t) for t in targets]
    if not targets:
        raise ConfigError("fit_profile needs at least one target")
    for i, t in enumerate(targets):
        _check_target(t, i)
    free = tuple(free)
    bad = [f for f in free if f not in DEFAULTS]
    if bad:
        raise ConfigError(f"free parameter '{bad[0]}' is unknown; parameters: "
                          f"{', '.join(DEFAULTS)}")
    base = {**DEFAULTS, **(start or {})}
    bad = [f for f in base if f not in DEFAULTS]
    if bad:
        raise ConfigError(f"start parameter '{bad[0]}' is unknown; parameters: "
                          f"{', '.join(DEFAULTS)}")
    bnd = dict(BOUNDS)
    for f, v in (bounds or {}).items():
        if f not in DEFAULTS:
            raise ConfigError(f"bounds: parameter '{f}' is unknown; parameters: "
                              f"{', '.join(DEFAULTS)}")
        if (not isinstance(v, (tuple, list)) or len(v) != 2
                or not all(isinstance(e, (int, float)) and math.isfinite(e) for e in v)
                or not v[0] < v[1]):
            raise ConfigError(f"bounds['{f}'] = {v!r} must be a pair (low, high), low < high")
        bnd[f] = (float(v[0]), float(v[1]))
    prof = ffi.new("ahasd_profile *")
    lo = np.array([bnd[f][0] for f in free])
    hi = np.array([bnd[f][1] for f in free])
    x0 = np.clip(np.array([base[f] for f in free], dtype=np.float64), lo, hi)

    def params_of(x: np.ndarray) -> dict[str, float]:
        p = dict(base)
        p.update({f: float(v) for f, v in zip(free, x)})
        return p

    def model(x: np.ndarray) -> np.ndarray:
        q, acc, dec = _arrays(fam, params_of(x))
        _fill_profile(prof, q, acc, fam.h_max, None, dec, 1.0)
        return np.array([_statistic(prof, t) for t in targets])

    vals = np.array([t["value"] for t in targets], dtype=np.float64)
    wts = np.array([t.get("weight", 1.0) for t in targets], dtype=np.float64)

    def resid(x: np.ndarray) -> np.ndarray:
        return wts * (model(x) / vals - 1.0)

    if free:
        # diff_step: SpecDec++'s fixed-point accumulator makes its statistics
        # piecewise constant at fine scales; 1% steps see through that.
        kw = {"method": "trf", "diff_step": 1e-2, "x_scale": "jac", "max_nfev": 400}
        kw.update(least_squares_kw)
        sol = least_squares(resid, x0, bounds=(lo, hi), **kw)
        if not np.all(np.isfinite(sol.x)):
            raise NumericalError("fit_profile: the fit produced non-finite parameters")
        x = sol.x
        method = (f"scipy.optimize.least_squares ({kw['method']}) on relative residuals; "
                  f"free: {', '.join(free)}; status {sol.status}")
    else:
        x = x0
        method = "no free parameters: statistics of the given parameters"
    p = params_of(x)
    q, acc, dec = _arrays(fam, p)
    fitted = model(x)
    fit = {
        "method": (f"{method}; family: B={fam.buckets}, h_max={fam.h_max:g}, "
                   f"regimes={fam.regimes}, split={fam.split}; parameters: "
                   + ", ".join(f"{k}={v:.6g}" for k, v in p.items())),
        "targets": [{k: v for k, v in t.items()} for t in targets],
        "residuals": [float(f - v) for f, v in zip(fitted, vals)],
    }
    assumptions = dict(assumptions or {})
    fixed = ", ".join(f"{k}={p[k]:.6g} ({assumptions.get(k, 'default')})"
                      for k in DEFAULTS if k not in free)
    src_fit = (f"source: profile family of ahasd.fitting fitted ({', '.join(free) or 'none'})"
               " to " + ", ".join(f"{t['statistic']} = {t['value']}" for t in targets)
               + " (sources in [fit])" + (f"; fixed: {fixed}" if fixed else ""))
    sources = {"buckets": "assumption: profile family resolution",
               "h_max": "assumption: entropy range of the profile family",
               "q": src_fit, "accept": src_fit,
               "init": "assumption: all zero = the stationary law of q",
               "position_decay": (src_fit if "decay" in free
                                  else f"assumption: {assumptions.get('decay', 'default')}"),
               "pred_scale": "assumption: calibrated SpecDec++ predictor (1)"}
    return Workload(name=name, description=description, buckets=fam.buckets, h_max=fam.h_max,
                    q=q.tolist(), accept=acc.tolist(), init=[0.0] * fam.buckets,
                    position_decay=dec, pred_scale=1.0, fit=fit, sources=sources)


# ---------------------------------------------------------------------------
# Traces
# ---------------------------------------------------------------------------
_TRACE_REQUIRED = ("entropy", "accepted")
_TRACE_OPTIONAL = ("batch", "position")


def load_trace(path: str | Path) -> Any:
    """Read a per-token trace CSV strictly: columns ``entropy`` (nats, finite,
    >= 0) and ``accepted`` (0/1), optionally ``batch`` (integer, batches in
    drafting order) and ``position`` (integer >= 1 within the batch).  Any
    other column, a missing or non-numeric value is an error naming the file,
    the column and the row.  Returns a pandas DataFrame with those columns
    (entropy float64, the others int64)."""
    import pandas as pd

    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a trace CSV: {exc}") from None
    return _check_trace(df, str(path))


def _check_trace(df: Any, where: str) -> Any:
    import pandas as pd

    cols = list(df.columns)
    for c in _TRACE_REQUIRED:
        if c not in cols:
            raise ConfigError(f"{where}: trace column '{c}' is missing (columns: "
                              f"{', '.join(map(str, cols))})")
    for c in cols:
        if c not in _TRACE_REQUIRED + _TRACE_OPTIONAL:
            raise ConfigError(f"{where}: unknown trace column '{c}'; allowed: "
                              f"{', '.join(_TRACE_REQUIRED + _TRACE_OPTIONAL)}")
    if len(df) < 2:
        raise ConfigError(f"{where}: a trace needs at least 2 tokens, got {len(df)}")
    out = pd.DataFrame(index=range(len(df)))
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise ConfigError(f"{where}: column '{c}' row {int(bad[0])} is "
                              f"{df[c].iloc[bad[0]]!r}: must be a finite number")
        if c == "entropy":
            neg = np.flatnonzero(v < 0)
            if neg.size:
                raise ConfigError(f"{where}: column 'entropy' row {int(neg[0])} is "
                                  f"{v[neg[0]]!r}: entropies are >= 0 (nats)")
            out[c] = v
            continue
        if np.any(v != np.round(v)):
            r = int(np.flatnonzero(v != np.round(v))[0])
            raise ConfigError(f"{where}: column '{c}' row {r} is {v[r]!r}: must be an integer")
        if c == "accepted" and np.any((v != 0) & (v != 1)):
            r = int(np.flatnonzero((v != 0) & (v != 1))[0])
            raise ConfigError(f"{where}: column 'accepted' row {r} is {v[r]!r}: must be 0 or 1")
        if c == "position" and np.any(v < 1):
            r = int(np.flatnonzero(v < 1)[0])
            raise ConfigError(f"{where}: column 'position' row {r} is {v[r]!r}: must be >= 1")
        out[c] = v.astype(np.int64)
    return out[cols]


def profile_from_trace(path_or_df: Any, buckets: int = 8, h_max: float | None = None,
                       smoothing: float = 0.5, name: str = "trace",
                       description: str = "") -> Any:
    """A ``Workload`` estimated from a per-token trace (``load_trace``).

    - Buckets: b = min(B - 1, floor(B H / h_max)); h_max defaults to the
      largest entropy in the trace (entropies above a given h_max go to the
      top bucket).
    - q: transition counts n_ij between consecutive drafted tokens, with
      additive smoothing s: q_ij = (n_ij + s) / (n_i + B s) (a row never left
      is uniform).  With a ``batch`` column, the transition into a batch comes
      from the previous batch's exit token (its first rejected token, else its
      last), as in MODEL.md; without it every consecutive pair counts.
    - accept: per bucket (x_b + s) / (n_b + 2 s) over the tokens whose
      acceptance was decided: with ``batch`` (and ``position``) columns the
      tokens up to and including the first rejection of each batch, otherwise
      every token.
    - init: all zero (the stationary law of q): a trace holds one first token
      of a generation at most, too few to estimate a law from.
    - position_decay 1 and pred_scale 1 (not identifiable from counts alone).
    """
    import pandas as pd

    from .workload import Workload

    if isinstance(path_or_df, pd.DataFrame):
        df = _check_trace(path_or_df, "trace")
        where = "trace"
    else:
        df = load_trace(path_or_df)
        where = str(path_or_df)
    if not isinstance(buckets, (int, np.integer)) or not 1 <= buckets <= MAX_BUCKETS:
        raise ConfigError(f"buckets = {buckets!r} is not allowed: must be an integer in "
                          f"[1, {MAX_BUCKETS}]")
    if not (isinstance(smoothing, (int, float)) and math.isfinite(smoothing)
            and smoothing > 0):
        raise ConfigError(f"smoothing = {smoothing!r} is not allowed: must be a finite "
                          "number > 0")
    H = df["entropy"].to_numpy()
    if h_max is None:
        h_max = float(H.max())
        if not h_max > 0:
            raise ConfigError(f"{where}: every entropy is 0; give h_max")
    elif not (isinstance(h_max, (int, float)) and math.isfinite(h_max) and h_max > 0):
        raise ConfigError(f"h_max = {h_max!r} is not allowed: must be a finite number > 0")
    B, s = int(buckets), float(smoothing)
    b = np.minimum(B - 1, np.floor(B * H / h_max).astype(np.int64))
    acc = df["accepted"].to_numpy()
    n = np.zeros((B, B))
    decided = np.ones(len(df), dtype=bool)
    if "batch" in df.columns:
        batch = df["batch"].to_numpy()
        starts = np.flatnonzero(np.r_[True, batch[1:] != batch[:-1]])
        ends = np.r_[starts[1:], len(df)]
        prev_exit = -1
        for st, en in zip(starts, ends):
            if "position" in df.columns:
                order = st + np.argsort(df["position"].to_numpy()[st:en], kind="stable")
            else:
                order = np.arange(st, en)
            bb = b[order]
            rej = np.flatnonzero(acc[order] == 0)
            first_rej = int(rej[0]) if rej.size else len(order) - 1
            decided[order[first_rej + 1:]] = False
            if prev_exit >= 0:
                n[prev_exit, bb[0]] += 1
            np.add.at(n, (bb[:-1], bb[1:]), 1)
            prev_exit = int(bb[first_rej])
    else:
        np.add.at(n, (b[:-1], b[1:]), 1)
    q = (n + s) / (n.sum(axis=1, keepdims=True) + B * s)
    nb = np.bincount(b[decided], minlength=B).astype(np.float64)
    xb = np.bincount(b[decided], weights=acc[decided], minlength=B)
    accept = (xb + s) / (nb + 2 * s)
    src = (f"source: estimated from the per-token trace {where} ({len(df)} tokens): "
           f"transition counts with additive smoothing {s:g}")
    sources = {"buckets": "assumption: chosen resolution",
               "h_max": (f"source: largest entropy in {where}" if h_max == float(H.max())
                         else "assumption: given h_max"),
               "q": src, "accept": src,
               "init": "assumption: all zero = the stationary law of q",
               "position_decay": "assumption: 1 (not estimated from counts)",
               "pred_scale": "assumption: calibrated SpecDec++ predictor (1)"}
    fit = {"method": f"counts from {where}: {len(df)} tokens, {B} buckets, smoothing {s:g}",
           "targets": [], "residuals": []}
    return Workload(name=name, description=description or f"estimated from {where}",
                    buckets=B, h_max=float(h_max), q=q.tolist(), accept=accept.tolist(),
                    init=[0.0] * B, position_decay=1.0, pred_scale=1.0, fit=fit,
                    sources=sources)
