"""Sweeps: many design points in one call, as a pandas DataFrame.

``sweep(base, **axes)`` evaluates the full grid of the named axes (the
cartesian product, the last axis varying fastest) around a base
configuration, or explicit point lists (``points=``), and returns one row per
point: the inputs as columns, then every canonical output (SI units), then
``method`` and ``error``.

Axes
----
- Numeric: every name of the C parameter registry (``ahasd_param_find``:
  ``k``, ``l_max``, ``gen_len``, ``svip_h``, ``contention``,
  ``pim.mem_bw_bytes_per_s`` and its aliases ``pim.internal_bw``, ...,
  ``draft.layers``, ``costs.draft_token_s``, and the special ``alpha``, an
  i.i.d. acceptance profile), plus ``policy.<p>``, ``hw.<f>``,
  ``hardware.<f>``, ``workload.<f>`` prefixes.  Bare ``sync_s``,
  ``rollback_s`` and ``switch_s`` go to the explicit task costs when the base
  has them (as in ``Config.replace``).  Values: a sequence, a NumPy array, a
  number, or a string ``"lo:hi:n"`` (``numpy.linspace(lo, hi, n)``) or
  ``"lo:hi:n:log"`` (``numpy.geomspace``).
- Categorical: ``schedule``, ``policy`` (a name keeps the base policy's
  parameters and changes its kind; or a Policy), ``workload`` (name or
  Workload), ``hardware``, ``draft``, ``target`` (names or objects),
  ``pair`` (a sequence of (draft, target) tuples; columns ``draft`` and
  ``target``), ``costs`` (TaskCosts), and any other name ``Config.replace``
  accepts whose values are not numbers (``tvc_predictor``, ``arms``).

How it runs
-----------
Points are grouped by their categorical combination; each group's Config
is built once, then its numeric grid goes to C (``ahasd_sweep``) in chunks
of float64 arrays in structure-of-arrays layout (value of parameter p at
point i at ``values[p * n + i]``), one C call per chunk, no per-point Python
work.  Chunks run on a thread pool (``threads``, default: the CPUs this
process may use); cffi releases the GIL and every thread has its own C
workspace.  With ``client=`` (a ``dask.distributed.Client``) the same chunks
run on the cluster: each task ships the group's C configuration as bytes
(``ffi.buffer(cfg.to_c())``; a struct of plain numbers, so the workers must
run the same build of ahasd: a size and version check refuses a mismatch),
the parameter and output names, and the values.  Results are assembled in
the same order, so local, threaded and distributed sweeps are identical.

Failures
--------
A point that fails gets NaN outputs and a message in ``error`` (None for
points that ran); the first 1000 failures are re-evaluated one by one
through the C core for their exact messages, the rest get their code's
description.  The count is ``df.attrs["n_failed"]`` and a
:class:`SweepWarning`.

Simulation
----------
``simulate=True`` runs the discrete-event simulator with ``n_runs`` runs per
point; the j-th point of a categorical group (in row order) uses seed
``seed + j``, exactly as ``ahasd.simulate(config=..., seed=seed + j)`` would,
so groups share random numbers (common random numbers for comparisons).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import presets as P
from ._native import ffi, lib, output_names, raise_for, workspace
from .api import DEFAULT_RUNS
from .config import SCHEDULES, Config
from .errors import ConfigError
from .hardware import ALIASES
from .policy import FAMILY_PARAMS, POLICY_KINDS, POLICY_PARAMS, Policy

__all__ = ["sweep", "SweepWarning", "resolve_param", "parse_values", "output_ids",
           "method_of", "MAX_MESSAGES"]

#: Failed points whose exact C message is collected; the rest get the code's text.
MAX_MESSAGES = 1000
#: Canonical output names, in the order of the C enum.
OUTPUTS: tuple[str, ...] = tuple(output_names())
#: Categorical axes with their own handling.
CATEGORICAL = ("schedule", "policy", "workload", "hardware", "draft", "target", "pair", "costs")
_ANALYTICAL_CLOSED = ("autoregressive", "serial", "sync", "partitioned")
_METHODS = ("closed-form", "markov-chain", "simulation")
_PREFIXES = ("policy.", "hw.", "hardware.", "workload.", "profile.")
_SHARED_COSTS = ("sync_s", "rollback_s", "switch_s")
# Default chunk sizes by the method's cost per point (points per C call).
_CHUNK = {"closed-form": 16384, "markov-chain": 512, "simulation": 8}


class SweepWarning(UserWarning):
    """Some points of a sweep failed (see the ``error`` column)."""


# --------------------------------------------------------------------------
# Names and values
# --------------------------------------------------------------------------
def _registry() -> tuple[str, ...]:
    return tuple(ffi.string(lib.ahasd_param_name(i)).decode()
                 for i in range(lib.ahasd_param_count()))


PARAMS: tuple[str, ...] = _registry()


def resolve_param(name: str, config: Config | None = None) -> tuple[str, int, bool] | None:
    """The C registry entry behind an axis name: (registry name, id, is integer).

    Accepts registry names, aliases, ``policy.``/``hw.``/``hardware.``/
    ``workload.``/``profile.`` prefixes, and routes bare ``sync_s``,
    ``rollback_s``, ``switch_s`` to the explicit costs when ``config`` has
    them (else ``switch_s`` to ``pim.switch_s``).  None if there is none.
    """
    cands = [name]
    if name in _SHARED_COSTS:
        if config is not None and config.costs is not None:
            cands = [f"costs.{name}"]
        elif name == "switch_s":
            cands = ["pim.switch_s"]
    for pre in _PREFIXES:
        if name.startswith(pre):
            cands.append(name[len(pre):])
    for c in cands:
        pid = lib.ahasd_param_find(c.encode())
        if pid >= 0:
            return c, int(pid), lib.ahasd_param_is_int(pid) == 1
    return None


def _known_names() -> list[str]:
    names = [*CATEGORICAL, *PARAMS, "tvc_predictor", "arms",
             *(f"policy.{p}" for p in POLICY_PARAMS)]
    return list(dict.fromkeys(names))


def unknown_name(name: str, what: str = "sweep axis") -> ConfigError:
    """A ConfigError for an unknown name, listing close matches (difflib)."""
    close = difflib.get_close_matches(name, _known_names(), n=4, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return ConfigError(f"{what} '{name}' is unknown{hint}; use a categorical axis "
                       f"({', '.join(CATEGORICAL)}) or a numeric parameter name "
                       "(ahasd_param_find: k, l_max, alpha, pim.internal_bw, ...)")


_RANGE = re.compile(r"^\s*([^:]+):([^:]+):([^:]+)(?::(lin|log))?\s*$")


#: Most points one numeric axis may have (10^8 float64 = 0.8 GB).
MAX_AXIS_POINTS = 10 ** 8


def parse_values(name: str, values: Any) -> np.ndarray:
    """Numeric axis values as a 1-D float64 array.

    ``values``: a number, a sequence, an array, or "lo:hi:n" (linspace) /
    "lo:hi:n:log" (geomspace, lo and hi > 0).
    """
    if isinstance(values, str):
        m = _RANGE.match(values)
        if m is None:
            raise ConfigError(f"{name} = {values!r} is not allowed: a string axis must be "
                              "'lo:hi:n' (linear) or 'lo:hi:n:log' (geometric)")
        try:
            lo, hi, n = float(m.group(1)), float(m.group(2)), float(m.group(3))
        except ValueError:
            raise ConfigError(f"{name} = {values!r}: lo, hi and n must be numbers") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or n != int(n) or n < 1:
            raise ConfigError(f"{name} = {values!r}: lo and hi must be finite and n an "
                              "integer >= 1")
        if n > MAX_AXIS_POINTS:
            raise ConfigError(f"{name} = {values!r}: n = {int(n)} points is not allowed: at "
                              f"most {MAX_AXIS_POINTS} per axis (a grid is the product of its "
                              "axes; split larger sweeps into chunks)")
        if m.group(4) == "log":
            if lo <= 0 or hi <= 0:
                raise ConfigError(f"{name} = {values!r}: a log range needs lo, hi > 0")
            return np.geomspace(lo, hi, int(n))
        return np.linspace(lo, hi, int(n))
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be a 1-D sequence of numbers, got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.number) or arr.size == 0) or \
            np.issubdtype(arr.dtype, np.complexfloating):
        raise ConfigError(f"{name} = {values!r} is not allowed: must be real numbers (or a "
                          "'lo:hi:n' string)")
    return np.ascontiguousarray(arr, dtype=np.float64)


def output_ids(outputs: str | Iterable[str] | None) -> list[int]:
    """Indices of canonical outputs by name (all of them for None)."""
    if outputs is None:
        return list(range(len(OUTPUTS)))
    names = [outputs] if isinstance(outputs, str) else list(outputs)
    ids = []
    for n in names:
        if n not in OUTPUTS:
            raise ConfigError(f"output '{n}' is unknown{P.close_names(n, OUTPUTS)}; outputs: "
                              + ", ".join(OUTPUTS))
        ids.append(OUTPUTS.index(n))
    return ids


def method_of(schedule: str, simulate: bool) -> str:
    """How a point of this schedule is evaluated."""
    if simulate:
        return "simulation"
    return "closed-form" if schedule in _ANALYTICAL_CLOSED else "markov-chain"


# --------------------------------------------------------------------------
# The plan: blocks of axes, the product, categorical groups
# --------------------------------------------------------------------------
@dataclass
class _Column:
    """One input: numeric (float64 levels) or categorical (objects + labels)."""

    name: str
    numeric: bool
    levels: Any                       # np.ndarray (numeric) or list of objects
    labels: list[str] = field(default_factory=list)
    param: str | None = None          # registry name (numeric)
    pid: int = -1
    is_int: bool = False
    codes: np.ndarray | None = None   # categorical: code of each level (deduplicated)


@dataclass
class _Block:
    """Columns that vary together (one axis, or the explicit points)."""

    columns: list[_Column]
    size: int


def _label(name: str, v: Any) -> str:
    if isinstance(v, str):
        return v
    if name == "policy" and isinstance(v, Policy):
        return str(v)
    n = getattr(v, "name", None)
    return n if isinstance(n, str) else str(v)


def _categorical(name: str, values: Sequence[Any]) -> _Column:
    vals = list(values)
    labels = [_label(name, v) for v in vals]
    uniq: dict[Any, int] = {}
    codes = np.empty(len(vals), dtype=np.int64)
    keys: list[Any] = []
    for i, (v, lab) in enumerate(zip(vals, labels)):
        try:                        # equal values share a group
            key: Any = (type(v).__name__, v)
            hash(key)
        except TypeError:           # unhashable objects: by identity
            key = (lab, id(v))
        if key not in uniq:
            uniq[key] = len(keys)
            keys.append(key)
        codes[i] = uniq[key]
    return _Column(name, False, vals, labels, codes=codes)


def _column(name: str, values: Any, base: Config) -> _Column:
    """Classify one input name and parse its values."""
    if name in CATEGORICAL:
        if name == "pair":
            vals = list(values) if _iterable(values) else [values]
            for v in vals:
                if not (isinstance(v, (tuple, list)) and len(v) == 2):
                    raise ConfigError(f"pair = {v!r} is not allowed: each element must be a "
                                      "(draft, target) tuple")
                _check_choice("draft", v[0])
                _check_choice("target", v[1])
            return _categorical(name, [tuple(v) for v in vals])
        vals = list(values) if _iterable(values) else [values]
        for v in vals:
            _check_choice(name, v)
        return _categorical(name, vals)
    res = resolve_param(name, base)
    if res is None or name == "tvc_predictor":
        return _replace_column(name, values, base)
    if isinstance(values, str):
        if _RANGE.match(values) is None:          # a name, e.g. draft_dev="pim"
            return _replace_column(name, values, base)
    elif _iterable(values) and not isinstance(values, np.ndarray) and \
            any(isinstance(v, str) for v in values):
        return _replace_column(name, values, base)
    arr = parse_values(name, values)
    return _Column(name, True, arr, param=res[0], pid=res[1], is_int=res[2])


_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(Config))
_PRESET_CLASSES = {"hardware": "Hardware", "draft": "Model", "target": "Model",
                   "workload": "Workload"}


def _check_choice(name: str, v: Any) -> None:
    """Refuse unknown names up front (a typo is not a failed design point)."""
    if not isinstance(v, str):
        return
    if name == "schedule":
        P.as_enum(v, "schedule", SCHEDULES)
    elif name == "policy":
        P.as_enum(v, "policy", POLICY_KINDS)
    elif name in _PRESET_CLASSES:
        from . import hardware, model, workload
        cls = {"Hardware": hardware.Hardware, "Model": model.Model,
               "Workload": workload.Workload}[_PRESET_CLASSES[name]]
        cls.preset(v)            # raises ConfigError naming the preset and close matches


def _replace_column(name: str, values: Any, base: Config) -> _Column:
    """A categorical input applied through Config.replace (tvc_predictor, arms, ...).

    Allowed: Config fields, policy parameters, and registry names given by
    name (draft_dev="pim"); anything else is an unknown axis.
    """
    if name not in _CONFIG_FIELDS and name not in POLICY_PARAMS and \
            resolve_param(name, base) is None:
        raise unknown_name(name)
    vals = [values] if isinstance(values, str) or not _iterable(values) else list(values)
    return _categorical(name, vals)


def _iterable(v: Any) -> bool:
    return hasattr(v, "__iter__") and not isinstance(v, (str, bytes, Mapping))


def _points_block(points: Any, base: Config) -> _Block:
    """Explicit points: a DataFrame, a list of dicts, or a dict of equal-length columns."""
    if isinstance(points, pd.DataFrame):
        cols = {str(c): list(points[c]) if points[c].dtype == object else points[c].to_numpy()
                for c in points.columns}
    elif isinstance(points, Mapping):
        cols = {k: v for k, v in points.items()}
    else:
        rows = list(points)
        if not all(isinstance(r, Mapping) for r in rows):
            raise ConfigError("points must be a DataFrame, a dict of columns or a list of dicts")
        names: list[str] = []
        for r in rows:
            for k in r:
                if k not in names:
                    names.append(k)
        for i, r in enumerate(rows):
            missing = [k for k in names if k not in r]
            if missing:
                raise ConfigError(f"points[{i}] has no value for {missing[0]!r}: every point "
                                  "must give the same names")
        cols = {k: [r[k] for r in rows] for k in names}
    sizes = {k: len(v) for k, v in cols.items()}
    if len(set(sizes.values())) > 1:
        raise ConfigError(f"points columns have different lengths: {sizes}")
    n = next(iter(sizes.values()), 0)
    columns = []
    for k, v in cols.items():
        if k in CATEGORICAL:
            c = _column(k, [tuple(x) for x in v] if k == "pair" else list(v), base)
        else:
            c = _column(k, v, base)
            if c.numeric and isinstance(v, str):
                raise ConfigError(f"points column {k!r} must list one value per point")
        if c.numeric and len(c.levels) != n:
            raise ConfigError(f"points column {k!r} must list one value per point")
        columns.append(c)
    return _Block(columns, n)


@dataclass
class _Plan:
    blocks: list[_Block]
    n: int
    numeric: list[_Column]
    categorical: list[_Column]

    def index(self, col: _Column) -> np.ndarray:
        """The level index of ``col`` at every point (product order, last block fastest)."""
        stride = 1
        for b in reversed(self.blocks):
            if any(c is col for c in b.columns):
                return (np.arange(self.n, dtype=np.int64) // stride) % b.size
            stride *= b.size
        raise KeyError(col.name)


def _plan(base: Config, points: Any, axes: Mapping[str, Any]) -> _Plan:
    blocks: list[_Block] = []
    if points is not None:
        blocks.append(_points_block(points, base))
    for name, values in axes.items():
        col = _column(name, values, base)
        size = len(col.levels)
        blocks.append(_Block([col], size))
    cols = [c for b in blocks for c in b.columns]
    given: set[str] = set()
    fields: dict[str, str] = {}
    for c in cols:
        for nm in (("draft", "target") if c.name == "pair" else (c.name,)):
            if nm in given:
                raise ConfigError(f"input '{nm}' is given twice (as an axis and in points, or "
                                  "as pair and draft/target)")
            given.add(nm)
        if c.numeric:
            key = ALIASES.get(c.param or "", c.param or "")
            if key in fields:
                raise ConfigError(f"'{fields[key]}' and '{c.name}' set the same parameter "
                                  f"{key}: give it once")
            fields[key] = c.name
    n = int(np.prod([b.size for b in blocks], dtype=np.int64)) if blocks else 1
    return _Plan(blocks, n, [c for c in cols if c.numeric], [c for c in cols if not c.numeric])


# --------------------------------------------------------------------------
# Building each group's configuration
# --------------------------------------------------------------------------
def _group_config(base: Config, choice: dict[str, Any]) -> Config:
    changes: dict[str, Any] = {}
    for name, v in choice.items():
        if name == "pair":
            changes["draft"], changes["target"] = v
        elif name == "policy" and isinstance(v, str):
            changes["policy"] = base.policy.replace(kind=v)
        else:
            changes[name] = v
    return base.replace(**changes) if changes else base


def _check_policy_params(plan: _Plan, configs: Iterable[Config | None]) -> None:
    """A policy parameter swept while no point's policy uses it is an error."""
    kinds = {c.policy.kind for c in configs if c is not None}
    if not kinds:
        return
    owner = {p: k for k, ps in FAMILY_PARAMS.items() for p in ps}
    for c in plan.numeric:
        k = owner.get(c.param or "")
        if k is not None and k not in kinds:
            raise ConfigError(f"{c.name} is a parameter of policy '{k}', but the policy of every "
                              f"point is {' or '.join(sorted(repr(x) for x in kinds))} (add "
                              f"policy='{k}' to the base or a policy axis)")


# --------------------------------------------------------------------------
# Chunks: the one C call
# --------------------------------------------------------------------------
def _c_chunk(cfg_ptr: Any, pids: Sequence[int], values: np.ndarray, oids: Sequence[int],
             simulate: bool, seed: int, n_runs: int, out: np.ndarray | None = None,
             status: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``ahasd_sweep`` over one chunk: values (n_params, n) -> (out (n, n_out), status (n,)).

    ``out`` and ``status``, when given, are C-contiguous float64 (n, n_out)
    and intc (n,) arrays the C core writes into (views of the sweep's result).
    """
    n = values.shape[1] if values.ndim == 2 else 0
    vals = np.ascontiguousarray(values, dtype=np.float64)
    if out is None:
        out = np.empty((n, len(oids)), dtype=np.float64)
    if status is None:
        status = np.empty(n, dtype=np.intc)
    if out.shape != (n, len(oids)) or not out.flags.c_contiguous or out.dtype != np.float64 \
            or status.shape != (n,) or status.dtype != np.intc or not status.flags.c_contiguous:
        raise ValueError("_c_chunk: out/status buffers of the wrong shape or layout")
    c_pids = ffi.new("int[]", list(pids) or [0])
    c_oids = ffi.new("int[]", list(oids) or [0])
    err = ffi.new("ahasd_error *")
    code = lib.ahasd_sweep(cfg_ptr, n, len(pids), c_pids,
                           ffi.from_buffer("double[]", vals) if vals.size else ffi.NULL,
                           len(oids), c_oids, 1 if simulate else 0, seed, n_runs,
                           ffi.from_buffer("double[]", out) if out.size else ffi.NULL,
                           ffi.from_buffer("int[]", status) if n else ffi.new("int[]", 1),
                           workspace(), err)
    if code < 0:
        raise_for(code, err)
    return out, status


def _fingerprint() -> tuple[int, int, int, str]:
    from . import __version__
    return (int(ffi.sizeof("ahasd_config")), int(lib.ahasd_param_count()), int(lib.AHASD_N_OUT),
            str(__version__))


def remote_chunk(payload: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate one chunk shipped to a Dask worker (module-level, so it pickles by name).

    payload: config (bytes of an ahasd_config), params and outputs (names),
    values (n_params x n float64), simulate, seed, n_runs, fingerprint.
    """
    fp = tuple(payload["fingerprint"])
    if fp != _fingerprint():
        raise RuntimeError(f"ahasd build mismatch between client and worker: client "
                           f"(sizeof ahasd_config, params, outputs, version) = {fp}, worker = "
                           f"{_fingerprint()}; install the same ahasd build on every worker")
    raw = payload["config"]
    cfg = ffi.new("ahasd_config *")
    ffi.memmove(cfg, raw, len(raw))
    pids = [int(lib.ahasd_param_find(p.encode())) for p in payload["params"]]
    oids = [OUTPUTS.index(o) for o in payload["outputs"]]
    return _c_chunk(cfg, pids, payload["values"], oids, payload["simulate"], payload["seed"],
                    payload["n_runs"])


@dataclass
class _Task:
    group: int
    rows: np.ndarray          # global row indices of this chunk
    values: np.ndarray        # (n_params, n) float64
    seed: int

    @property
    def block(self) -> slice | None:
        """The rows as a slice when they are consecutive (C writes in place)."""
        r = self.rows
        if len(r) and int(r[-1]) - int(r[0]) + 1 == len(r):
            return slice(int(r[0]), int(r[-1]) + 1)
        return None


class _Sink:
    """The sweep's outputs (row-major: point x output) and statuses, and progress."""

    def __init__(self, n: int, n_out: int, bar: "_Progress") -> None:
        self.res = np.empty((n, n_out), dtype=np.float64)    # every row gets written
        self.status = np.zeros(n, dtype=np.intc)
        self.bar = bar

    def views(self, t: _Task) -> tuple[np.ndarray | None, np.ndarray | None]:
        sl = t.block
        return (self.res[sl], self.status[sl]) if sl is not None else (None, None)

    def store(self, t: _Task, out: np.ndarray, st: np.ndarray) -> None:
        sl = t.block
        dest = sl if sl is not None else t.rows
        if not np.shares_memory(out, self.res):
            self.res[dest] = out
            self.status[dest] = st
        self.bar.update(len(t.rows))


def _point_message(cfg: Config, pids: Sequence[int], names: Sequence[str],
                   values: np.ndarray, simulate: bool, seed: int, n_runs: int) -> str:
    """The C core's message for one failed point (evaluated alone)."""
    c = ffi.new("ahasd_config *", cfg.to_c()[0])
    err = ffi.new("ahasd_error *")
    code = 0
    for pid, v in zip(pids, values):
        code = lib.ahasd_param_set(c, pid, float(v), err)
        if code < 0:
            break
    if code >= 0:
        code = lib.ahasd_config_validate(c, err)
    if code >= 0:
        res = ffi.new("ahasd_result *")
        if simulate:
            opt = ffi.new("ahasd_sim_options *")
            opt.seed, opt.n_runs = seed, n_runs
            code = lib.ahasd_simulate(c, opt, workspace(), res, err)
        else:
            code = lib.ahasd_estimate(c, workspace(), res, err)
    if code >= 0:
        return "failed in the sweep but not when evaluated alone"
    msg = ffi.string(err.msg).decode("utf-8", "replace")
    return msg or ffi.string(lib.ahasd_strerror(code)).decode()


def _code_text(code: int) -> str:
    return (f"{ffi.string(lib.ahasd_strerror(int(code))).decode()} (code {int(code)}; exact "
            f"message collected for the first {MAX_MESSAGES} failures only)")


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------
class _Progress:
    """tqdm over points: shown when the sweep runs longer than 1 s (progress=None),
    always (True) or never (False)."""

    def __init__(self, total: int, progress: bool | None) -> None:
        self.bar = None
        if progress is False or total == 0:
            return
        from tqdm.auto import tqdm
        self.bar = tqdm(total=total, unit="pt", desc="ahasd.sweep", leave=False,
                        delay=0.0 if progress else 1.0, dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _threads(threads: int | None) -> int:
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    t = P.as_int(threads, "threads")
    if t < 1:
        raise ConfigError(f"threads = {t} is not allowed: must be >= 1")
    return t


# --------------------------------------------------------------------------
# The public function
# --------------------------------------------------------------------------
def _base_config(base: Any) -> Config:
    if base is None:
        return Config.build()
    if isinstance(base, Config):
        return base
    if isinstance(base, Mapping):
        return Config.build(**dict(base))
    raise ConfigError(f"base = {base!r} is not allowed: must be an ahasd.Config, a dict of "
                      "estimate() keywords or None")


def _groups(plan: _Plan, cat_idx: list[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    """Group of each point by categorical combination (None: one group) and the
    first row of each group; groups numbered in order of first appearance."""
    N = plan.n
    if not plan.categorical:
        return None, np.zeros(1 if N else 0, dtype=np.int64)
    if N == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    codes = [c.codes[i] for c, i in zip(plan.categorical, cat_idx)]  # type: ignore[index]
    dims = [int(c.codes.max()) + 1 for c in plan.categorical]      # type: ignore[union-attr]
    key = np.ravel_multi_index(codes, dims)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse], first[order]


def sweep(base: Config | Mapping[str, Any] | None = None, *, points: Any = None,
          simulate: bool = False, n_runs: int = DEFAULT_RUNS, seed: int = 0,
          outputs: str | Sequence[str] | None = None, progress: bool | None = None,
          client: Any = None, chunk_size: int | None = None, threads: int | None = None,
          **axes: Any) -> pd.DataFrame:
    """Evaluate a grid (or list) of design points; one DataFrame row per point.

    base: a Config, a dict of :func:`ahasd.estimate` keywords, or None (the
        defaults).
    points: explicit points (a DataFrame, a list of dicts or a dict of
        equal-length columns); crossed with ``axes`` when both are given.
    **axes: name -> values.  Numeric: every name of the C parameter registry
        (``ahasd_param_find``: "k", "l_max", "gen_len", "svip_h",
        "contention", "pim.mem_bw_bytes_per_s" and its alias
        "pim.internal_bw", "draft.layers", "costs.draft_token_s", and
        "alpha", an i.i.d. acceptance profile; prefixes "policy.", "hw.",
        "hardware.", "workload." allowed; bare sync_s/rollback_s/switch_s
        go to the explicit costs when the base has them), as a sequence, an
        array, a number, or "lo:hi:n" (linspace) / "lo:hi:n:log"
        (geomspace).  Categorical: schedule, policy (a name changes the
        base policy's kind and keeps its parameters; or a Policy), workload,
        hardware, draft, target (names or objects), pair (a sequence of
        (draft, target) tuples), costs (TaskCosts), and other Config fields
        or policy parameters whose values are not numbers (tvc_predictor,
        arms).  The grid is the cartesian product, the last axis fastest.
    simulate, n_runs, seed: run the simulator instead of the analytical
        estimate (point j of a group uses seed + j).
    outputs: a subset of the canonical outputs (default all; a subset saves
        memory on big sweeps: 10^6 points x 28 outputs is 224 MB).
    progress: None shows a tqdm bar if the sweep takes more than 1 s; True
        always; False never.
    client: a dask.distributed Client to run the chunks on (default: local
        threads).
    chunk_size: points per C call (default by method: 16384 closed form, 512
        Markov chain, 8 simulation, fewer for small sweeps so every thread
        has work).
    threads: local worker threads (default: the CPUs available).

    Returns a DataFrame: the inputs (in the order given; pair as draft and
    target), the outputs (SI units), ``method`` and ``error`` (None, or why
    the point failed).  ``df.attrs``: n_points, n_failed, seconds.
    """
    t0 = time.perf_counter()
    cfg = _base_config(base)
    simulate = bool(simulate)
    n_runs = P.as_int(n_runs, "n_runs")
    if simulate and not 1 <= n_runs <= 1_000_000:
        raise ConfigError(f"n_runs = {n_runs} is not allowed: must be in [1, 1000000]")
    seed = P.as_int(seed, "seed")
    if not 0 <= seed < 2 ** 63:
        raise ConfigError(f"seed = {seed} is not allowed: must be in [0, 2^63)")
    oids = output_ids(outputs)
    nthreads = _threads(threads)
    if chunk_size is not None:
        chunk_size = P.as_int(chunk_size, "chunk_size")
        if chunk_size < 1:
            raise ConfigError(f"chunk_size = {chunk_size} is not allowed: must be >= 1")
    plan = _plan(cfg, points, axes)
    N = plan.n
    cat_idx = [plan.index(c) for c in plan.categorical]
    group_of, firsts = _groups(plan, cat_idx)

    configs: list[Config | None] = []
    group_err: list[str | None] = []
    schedules: list[str] = []
    for r in firsts:
        choice = {c.name: c.levels[int(i[r])] for c, i in zip(plan.categorical, cat_idx)}
        schedules.append(str(choice.get("schedule", cfg.schedule)))
        try:
            configs.append(_group_config(cfg, choice))
            group_err.append(None)
        except ConfigError as exc:
            configs.append(None)
            group_err.append(str(exc))
    _check_policy_params(plan, configs)

    errors = np.empty(N, dtype=object)             # None-filled
    whole_failed = np.zeros(N, dtype=bool)         # rows of groups that could not be built
    method_codes = np.zeros(N, dtype=np.int8)
    num_idx = [plan.index(c) for c in plan.numeric]
    pids = [c.pid for c in plan.numeric]
    tasks: list[_Task] = []
    for g, gcfg in enumerate(configs):
        rows = np.arange(N, dtype=np.int64) if group_of is None else np.flatnonzero(group_of == g)
        meth = method_of(gcfg.schedule if gcfg is not None else schedules[g], simulate)
        method_codes[rows] = _METHODS.index(meth)
        if gcfg is None:
            errors[rows] = group_err[g]
            whole_failed[rows] = True
            continue
        vals = np.empty((len(pids), len(rows)), dtype=np.float64)
        for p, (c, idx) in enumerate(zip(plan.numeric, num_idx)):
            vals[p] = c.levels[idx if group_of is None else idx[rows]]
        cs = chunk_size or max(1, min(_CHUNK[meth], -(-len(rows) // (4 * nthreads))))
        tasks += [_Task(g, rows[s:s + cs], vals[:, s:s + cs], seed + s)
                  for s in range(0, len(rows), cs)]
    del num_idx
    n_out = len(oids)

    bar = _Progress(N, progress)
    sink = _Sink(N, n_out, bar)
    sink.res[whole_failed] = np.nan
    sink.status[whole_failed] = lib.AHASD_ERR_BAD_PARAM
    bar.update(int(np.count_nonzero(whole_failed)))
    status = sink.status
    try:
        if client is not None:
            _run_dask(client, tasks, configs, plan, oids, simulate, n_runs, sink)
        else:
            _run_local(tasks, configs, pids, oids, simulate, n_runs, nthreads, sink)
    finally:
        bar.close()

    # failures: exact messages for the first MAX_MESSAGES
    failed = np.flatnonzero((status != 0) & ~whole_failed)
    if len(failed):
        _fill_messages(failed, status, errors, tasks, configs, plan, pids, simulate, n_runs)
    n_failed = int(np.count_nonzero(status != 0))

    df = _frame(plan, cat_idx, sink.res, oids, method_codes, errors)
    df.attrs["n_points"] = N
    df.attrs["n_failed"] = n_failed
    df.attrs["seconds"] = time.perf_counter() - t0
    if n_failed:
        first = errors[int(np.flatnonzero(status != 0)[0])]
        warnings.warn(f"ahasd.sweep: {n_failed} of {N} points failed (see the 'error' column; "
                      f"first: {first})", SweepWarning, stacklevel=2)
    return df


def _run_local(tasks: list[_Task], configs: list[Config | None], pids: list[int],
               oids: list[int], simulate: bool, n_runs: int, nthreads: int,
               sink: _Sink) -> None:
    def run(t: _Task) -> tuple[np.ndarray, np.ndarray]:
        cfg = configs[t.group]
        assert cfg is not None
        out, st = sink.views(t)
        return _c_chunk(cfg.to_c(), pids, t.values, oids, simulate, t.seed, n_runs, out, st)

    if nthreads == 1 or len(tasks) <= 1:
        for t in tasks:
            sink.store(t, *run(t))
        return
    with ThreadPoolExecutor(max_workers=nthreads, thread_name_prefix="ahasd-sweep") as ex:
        pending = {}
        it = iter(tasks)
        # keep a bounded number of chunks in flight (memory stays flat)
        for t in it:
            pending[ex.submit(run, t)] = t
            if len(pending) >= 4 * nthreads:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                t = pending.pop(f)
                sink.store(t, *f.result())
                nxt = next(it, None)
                if nxt is not None:
                    pending[ex.submit(run, nxt)] = nxt


def _run_dask(client: Any, tasks: list[_Task], configs: list[Config | None], plan: _Plan,
              oids: list[int], simulate: bool, n_runs: int, sink: _Sink) -> None:
    try:
        from distributed import as_completed
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ConfigError("client= needs dask.distributed (pip install 'ahasd[dask]')") from exc
    raw = [bytes(ffi.buffer(c.to_c())) if c is not None else b"" for c in configs]
    params = [c.param for c in plan.numeric]
    outs = [OUTPUTS[o] for o in oids]
    fp = _fingerprint()
    futures = {}
    for t in tasks:
        payload = {"config": raw[t.group], "params": params, "outputs": outs,
                   "values": np.ascontiguousarray(t.values), "simulate": simulate,
                   "seed": t.seed, "n_runs": n_runs, "fingerprint": fp}
        futures[client.submit(remote_chunk, payload, pure=False)] = t
    for fut in as_completed(list(futures)):
        out, st = fut.result()
        sink.store(futures[fut], out, st)


def _fill_messages(failed: np.ndarray, status: np.ndarray, errors: np.ndarray,
                   tasks: list[_Task], configs: list[Config | None], plan: _Plan,
                   pids: list[int], simulate: bool, n_runs: int) -> None:
    exact = set(int(r) for r in failed[:MAX_MESSAGES])
    names = [c.param or c.name for c in plan.numeric]
    for t in tasks:
        hit = np.flatnonzero(status[t.rows] != 0)
        for j in hit:
            r = int(t.rows[j])
            if r in exact:
                cfg = configs[t.group]
                assert cfg is not None
                errors[r] = _point_message(cfg, pids, names, t.values[:, j], simulate,
                                           t.seed + int(j), n_runs)
            else:
                errors[r] = _code_text(int(status[r]))


def _frame(plan: _Plan, cat_idx: list[np.ndarray], res: np.ndarray, oids: list[int],
           method_codes: np.ndarray, errors: np.ndarray) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    ci = {id(c): i for c, i in zip(plan.categorical, cat_idx)}
    for b in plan.blocks:
        for c in b.columns:
            idx = ci.get(id(c))
            if idx is None:
                idx = plan.index(c)
            if c.numeric:
                v = c.levels[idx]
                if c.is_int and v.size and np.all(v == np.round(v)) and np.all(np.abs(v) < 2**62):
                    v = v.astype(np.int64)
                cols[c.name] = v
            elif c.name == "pair":
                d = [_label("draft", p[0]) for p in c.levels]
                t = [_label("target", p[1]) for p in c.levels]
                cols["draft"] = _cat(d, idx)
                cols["target"] = _cat(t, idx)
            else:
                cols[c.name] = _cat(c.labels, idx)
    n = len(errors)
    inputs = pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)
    # res is (point, output) row-major: pandas keeps it as one block, no copy
    outs = pd.DataFrame(res, columns=[OUTPUTS[o] for o in oids], index=inputs.index, copy=False)
    tail = pd.DataFrame({"method": pd.Categorical.from_codes(method_codes,
                                                             categories=list(_METHODS)),
                         "error": errors}, index=inputs.index, copy=False)
    return pd.concat([inputs, outs, tail], axis=1)


def _cat(labels: list[str], idx: np.ndarray) -> pd.Categorical:
    """A categorical column from level labels (duplicates merged) and level indices."""
    cats: list[str] = []
    pos: dict[str, int] = {}
    remap = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels):
        if lab not in pos:
            pos[lab] = len(cats)
            cats.append(lab)
        remap[i] = pos[lab]
    return pd.Categorical.from_codes(remap[idx] if len(labels) else idx, categories=cats)
