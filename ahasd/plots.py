"""Plots of estimates, simulations and sweeps (Matplotlib only).

Every function draws into an Axes (or Figure) it is given, or into a new one,
and returns it, so plots compose into the caller's own figures::

    import ahasd, ahasd.plots as ap
    runs = {s: ahasd.simulate(schedule=s, policy="svip", n_runs=1, trace=True)
            for s in ("sync", "async", "ahasd")}
    fig = ap.timelines(runs, t_window_s=3.0)          # NPU/PIM Gantt charts, stacked
    ax = ap.breakdown(runs, kind="energy")            # J by device and cause
    ax = ap.roofline(device="npu", n_positions=[1, 5])
    axk, axa = ap.draft_histograms("svip", workload="code")
    df = ahasd.sweep(k=range(1, 9), l_max=[1, 2, 3, 4])
    ax = ap.heatmap(df, "k", "l_max", "throughput_tok_s")
    ax = ap.pareto_front(df, "throughput_tok_s", "energy_per_token_j")

Units are SI (s, J, bytes, ops) and axis labels say them, with one decimal
prefix per axis where it helps ("energy per token (mJ)", "PIM internal
bandwidth (GB/s)"; log axes tick 1G, 10G, ...).  One colour per task is
used everywhere (:data:`TASK_COLORS`): draft blue, verify orange,
pre-verification green, overhead grey, and work that was later thrown away
(flushed look-ahead batches, rejected tails: the trace's ``wasted`` events)
hatched in purple, whatever its task.  Idle time is the light background
between events.  Colours are from the Okabe-Ito palette (readable with the
common colour-vision deficiencies).

New figures are made with ``matplotlib.pyplot`` so notebooks show them; in
scripts, pass ``ax=`` / ``fig=`` from a ``matplotlib.figure.Figure`` to
avoid pyplot entirely (the command line does).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import presets as P
from .costs import CAUSE_NAMES, DEVICE_NAMES, TASK_NAMES
from .errors import ConfigError
from .result import Result

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["timeline", "timelines", "heatmap", "pareto_front", "breakdown", "roofline",
           "draft_histograms", "trace_window", "axis_label", "TASK_COLORS", "CAUSE_COLORS",
           "WASTED_COLOR", "IDLE_COLOR"]

# --------------------------------------------------------------------------
# Colours and labels
# --------------------------------------------------------------------------
#: Colour of each task (Okabe-Ito palette).
TASK_COLORS: dict[str, str] = {
    "draft": "#0072B2",       # blue
    "verify": "#E69F00",      # orange
    "preverify": "#009E73",   # bluish green
    "overhead": "#555555",    # dark grey
    "idle": "#E8E8E8",        # light grey (the background of a timeline row)
}
#: Colour (and hatch) of work later discarded, whatever its task.
WASTED_COLOR = "#CC79A7"      # reddish purple
WASTED_HATCH = "////"
IDLE_COLOR = TASK_COLORS["idle"]
#: Colour of each energy cause.
CAUSE_COLORS: dict[str, str] = {
    "compute": "#D55E00",     # vermillion
    "memory": "#0072B2",      # blue
    "static_busy": "#56B4E9",  # sky blue
    "static_idle": "#BBBBBB",  # grey
    "task": "#F0E442",        # yellow (explicit task energies, not split)
}
_OP_KIND_STYLE = {"matmul": ("o", "#0072B2"), "attention": ("s", "#E69F00"),
                  "nonlinear": ("^", "#009E73"), "memory": ("D", "#555555")}
_POSITION_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

_TASK_TEXT = {"draft": "draft", "verify": "verify", "preverify": "pre-verify",
              "overhead": "overhead (switch, rollback)", "idle": "idle",
              "wasted": "wasted (flushed / rejected)"}
_CAUSE_TEXT = {"compute": "compute", "memory": "memory traffic",
               "static_busy": "static while busy", "static_idle": "static while idle",
               "task": "task (explicit cost)"}

# name -> (readable text, unit).  Units are SI; "" means dimensionless.
_LABELS: dict[str, tuple[str, str]] = {
    "throughput_tok_s": ("throughput", "tokens/s"),
    "latency_per_token_s": ("latency per token", "s"),
    "energy_per_token_j": ("energy per token", "J"),
    "tokens_per_j": ("tokens per joule", "tokens/J"),
    "edp_js": ("energy-delay product per token", "J s"),
    "acceptance_rate": ("acceptance rate", ""),
    "waste_frac": ("wasted fraction of drafts", ""),
    "mean_draft_len": ("mean draft length", "tokens"),
    "mean_accepted": ("mean accepted tokens per round", "tokens"),
    "tokens_per_round": ("tokens per round", "tokens"),
    "preverify_frac": ("share of PIM time pre-verifying", ""),
    "suppression_rate": ("EDC suppression rate", ""),
    "total_time_s": ("total time", "s"),
    "total_energy_j": ("total energy", "J"),
    "drafted_tokens": ("drafted tokens", "tokens"),
    "committed_tokens": ("committed tokens", "tokens"),
    "rounds": ("rounds", ""),
    "gap_p50_s": ("inter-token gap p50", "s"),
    "gap_p90_s": ("inter-token gap p90", "s"),
    "gap_p99_s": ("inter-token gap p99", "s"),
    "k": ("draft length k", "tokens"),
    "k_min": ("minimum draft length", "tokens"),
    "k_max": ("maximum draft length", "tokens"),
    "l_max": ("L_max, look-ahead depth", "batches"),
    "m_max": ("m_max, most tokens per pre-verification", "tokens"),
    "alpha": ("acceptance probability alpha", ""),
    "svip_h": ("SVIP threshold h", ""),
    "adaedl_lambda": ("AdaEDL threshold lambda", ""),
    "specdecpp_tau": ("SpecDec++ threshold tau", ""),
    "gen_len": ("generated tokens", "tokens"),
    "prompt_len": ("prompt tokens", "tokens"),
    "contention": ("NPU/PIM memory contention", ""),
    "pim.mem_bw_bytes_per_s": ("PIM internal bandwidth", "B/s"),
    "pim.matrix_ops_per_s": ("PIM compute", "ops/s"),
    "npu.mem_bw_bytes_per_s": ("NPU off-chip bandwidth", "B/s"),
    "npu.matrix_ops_per_s": ("NPU matrix compute", "ops/s"),
    "speedup_vs_ar": ("speed-up vs autoregressive", "x"),
}
_DEV_TEXT = {"npu": "NPU", "pim": "PIM", "gpu": "GPU", "cpu": "CPU", "mem": "DRAM"}
# Units whose values read best with SI prefixes on the ticks.
_PREFIXED = {"s", "J", "B/s", "ops/s", "B", "W", "J s", "ops"}


def _alias(name: str) -> str:
    from .hardware import ALIASES
    return ALIASES.get(name, name)


def _label_parts(name: str) -> tuple[str, str]:
    name = _alias(str(name))
    if name in _LABELS:
        return _LABELS[name]
    dev, _, field = name.partition(".")
    if field and dev in _DEV_TEXT:
        unit = P.unit_of(field)
        return f"{_DEV_TEXT[dev]} {field}", {"bytes/s": "B/s"}.get(unit, unit)
    for d in ("npu", "pim", "gpu", "cpu"):
        if name == f"{d}_busy_frac":
            return f"{_DEV_TEXT[d]} busy fraction", ""
        if name == f"{d}_idle_s":
            return f"{_DEV_TEXT[d]} idle time", "s"
    unit = P.unit_of(name)
    return name, {"bytes/s": "B/s"}.get(unit, unit)


def axis_label(name: str) -> str:
    """A readable axis label with its SI unit: "throughput_tok_s" -> "throughput (tokens/s)"."""
    text, unit = _label_parts(name)
    return f"{text} ({unit})" if unit else text


def _si_formatter(name: str) -> Any:
    """An EngFormatter (SI prefixes, no unit: the label has it) for prefixed units, else None."""
    from matplotlib.ticker import EngFormatter
    _, unit = _label_parts(name)
    return EngFormatter(sep="") if unit in _PREFIXED else None


def _eng() -> Any:
    """Ticks with SI prefixes (2m, 51.2G); the axis label carries the unit."""
    from matplotlib.ticker import EngFormatter
    return EngFormatter(sep="")


def _fmt_value(name: str, v: Any) -> str:
    """A tick or annotation text for one value of column ``name`` (SI prefix, no unit)."""
    if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool):
        f = float(v)
        if not math.isfinite(f):
            return str(f)
        _, unit = _label_parts(name)
        if unit in _PREFIXED:
            return _scaled(f)
        if isinstance(v, (int, np.integer)) or f.is_integer():
            return str(int(f))
        return f"{f:.3g}"
    return str(v)


_SI_STEPS = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""),
             (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def _prefix(vmax: float) -> tuple[float, str]:
    """The SI prefix (scale, letter) that writes ``vmax`` with 1 to 3 integer digits."""
    ref = abs(vmax)
    if ref == 0 or not math.isfinite(ref):
        return 1.0, ""
    for scale, prefix in _SI_STEPS:
        if ref >= scale * 0.9999995:
            return scale, prefix
    return _SI_STEPS[-1]


def _unit_axis(axis: Any, name: str, values: Any, text: str | None = None) -> str:
    """Tick ``axis`` of column ``name`` with one SI prefix for the whole axis; returns
    its label ("energy per token (mJ)").  Units without prefixes keep plain ticks."""
    from matplotlib.ticker import FuncFormatter
    label_text, unit = _label_parts(name)
    text = label_text if text is None else text
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if unit in _PREFIXED and v.size:
        scale, prefix = _prefix(float(np.max(np.abs(v))))
        axis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / scale:g}"))
        return f"{text} ({prefix}{unit})"
    return f"{text} ({unit})" if unit else text


def _scaled(v: float) -> str:
    """3 significant digits with an SI prefix: 5.12e10 -> '51.2G', 0.0021 -> '2.1m'."""
    ref = abs(v)
    if ref == 0 or not math.isfinite(ref):
        return f"{v:.3g}"
    for scale, prefix in _SI_STEPS:
        if ref >= scale * 0.9999995:
            return f"{v / scale:.3g}{prefix}"
    return f"{v:.3g}"


def _new_axes(ax: Any, figsize: tuple[float, float] = (6.4, 4.2)) -> "Axes":
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_columns(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"{what} must be a pandas DataFrame, not {type(df).__name__}")
    for c in cols:
        if c not in df.columns:
            raise ConfigError(f"column {c!r} is not in the data{P.close_names(c, df.columns)}; "
                              f"columns: {', '.join(map(str, df.columns))}")


# --------------------------------------------------------------------------
# Timelines
# --------------------------------------------------------------------------
_TRACE_COLUMNS = ("device", "task", "start_s", "end_s", "wasted")


def _trace_of(obj: Any) -> pd.DataFrame:
    if isinstance(obj, Result):
        if obj.trace is None:
            raise ConfigError("this Result has no trace: simulate it with "
                              "ahasd.simulate(..., trace=True)")
        return obj.trace
    if isinstance(obj, pd.DataFrame):
        _check_columns(obj, _TRACE_COLUMNS, "a trace")
        return obj
    raise ConfigError(f"expected a trace DataFrame or a simulated Result with a trace, "
                      f"not {type(obj).__name__}")


def _trace_span(trace: pd.DataFrame) -> tuple[float, float]:
    if len(trace) == 0:
        return 0.0, 1.0
    return float(trace["start_s"].min()), float(trace["end_s"].max())


def trace_window(trace: pd.DataFrame | Result, t0: float | None = None,
                 t1: float | None = None) -> pd.DataFrame:
    """The events of ``trace`` that a timeline of [t0, t1] draws (one bar each).

    An event is drawn when it overlaps the window: ``end_s >= t0`` and
    ``start_s <= t1`` (bars are clipped by the axis limits, not cut).
    ``t0``/``t1`` default to the start and end of the trace (every event).
    """
    tr = _trace_of(trace)
    lo, hi = _trace_span(tr)
    t0 = lo if t0 is None else float(t0)
    t1 = hi if t1 is None else float(t1)
    return tr[(tr["end_s"] >= t0) & (tr["start_s"] <= t1)]


def _devices_of(obj: Any, trace: pd.DataFrame) -> list[str]:
    seen = set(trace["device"].astype(str)) if len(trace) else set()
    if isinstance(obj, Result):
        cfg = obj.config
        if cfg.hardware is not None:
            hw = cfg.hardware
            seen.add(hw.verify_dev)
            if cfg.schedule != "autoregressive":
                seen.add(hw.draft_dev)
        else:
            seen.update(("npu", "pim"))
    return [d for d in DEVICE_NAMES if d in seen] or ["npu", "pim"]


def _busy_frac(starts: np.ndarray, ends: np.ndarray, t0: float, t1: float) -> float:
    """Share of [t0, t1] covered by the union of the intervals."""
    if t1 <= t0 or len(starts) == 0:
        return 0.0
    s = np.clip(starts, t0, t1)
    e = np.clip(ends, t0, t1)
    order = np.argsort(s, kind="stable")
    busy, cur_s, cur_e = 0.0, None, None
    for a, b in zip(s[order], e[order]):
        if cur_e is None or a > cur_e:
            if cur_e is not None:
                busy += cur_e - cur_s
            cur_s, cur_e = a, b
        else:
            cur_e = max(cur_e, b)
    if cur_e is not None:
        busy += cur_e - cur_s
    return busy / (t1 - t0)


def _category(task: str, wasted: bool) -> str:
    return "wasted" if wasted else task


def _legend_handles(categories: Iterable[str]) -> list[Any]:
    from matplotlib.patches import Patch
    cats = set(categories)
    handles = []
    for c in ("draft", "verify", "preverify", "overhead", "wasted", "idle"):
        if c not in cats and c != "idle":
            continue
        if c == "wasted":
            handles.append(Patch(facecolor=WASTED_COLOR, hatch=WASTED_HATCH, edgecolor="white",
                                 label=_TASK_TEXT[c]))
        elif c == "idle":
            handles.append(Patch(facecolor=IDLE_COLOR, edgecolor="#BBBBBB", label="idle"))
        else:
            handles.append(Patch(facecolor=TASK_COLORS[c], label=_TASK_TEXT[c]))
    return handles


def timeline(trace_or_result: pd.DataFrame | Result, ax: "Axes | None" = None,
             t0: float | None = None, t1: float | None = None, title: str | None = None,
             *, devices: Sequence[str] | None = None, legend: bool = True) -> "Axes":
    """A Gantt chart of each device's activity from a simulator trace.

    ``trace_or_result``: ``Result.trace`` (a DataFrame with columns device,
    task, start_s, end_s, wasted; e.g. from ``ahasd.simulate(trace=True)`` or
    ``pd.read_csv`` of ``ahasd simulate --trace``) or the Result itself.
    One row per device (NPU on top), one bar per event overlapping
    [``t0``, ``t1``] seconds (default: the whole trace; see
    :func:`trace_window`): draft, verify, pre-verify and overhead each in
    their colour, wasted work (flushed batches, rejected tails) hatched in
    its own colour, idle time the light background between bars.  Each
    device's idle share of the window is printed under its name.

    Returns the Axes; its ``patches`` are exactly the bars of the events.
    """
    tr = _trace_of(trace_or_result)
    lo, hi = _trace_span(tr)
    t0 = lo if t0 is None else float(t0)
    t1 = hi if t1 is None else float(t1)
    if not t1 > t0:
        raise ConfigError(f"t1 = {t1!r} is not allowed: must be after t0 = {t0!r} (s)")
    ax = _new_axes(ax, (10, 2.6))
    devs = list(devices) if devices is not None else _devices_of(trace_or_result, tr)
    rows = {d: i for i, d in enumerate(devs)}
    win = trace_window(tr, t0, t1)
    win = win[win["device"].astype(str).isin(rows)]
    height = 0.64
    # idle: the background of each row (a collection, not patches)
    ax.broken_barh([(t0, t1 - t0)], (-height / 2, height), facecolors=IDLE_COLOR,
                   edgecolors="none", zorder=0)
    for i in range(1, len(devs)):
        ax.broken_barh([(t0, t1 - t0)], (i - height / 2, height), facecolors=IDLE_COLOR,
                       edgecolors="none", zorder=0)
    cats = []
    dev_s = win["device"].astype(str).to_numpy()
    task_s = win["task"].astype(str).to_numpy()
    wasted = win["wasted"].astype(bool).to_numpy()
    start = win["start_s"].to_numpy(dtype=float)
    end = win["end_s"].to_numpy(dtype=float)
    cat = np.array([_category(t, w) for t, w in zip(task_s, wasted)], dtype=object)
    y = np.array([rows[d] for d in dev_s], dtype=float)
    for c in ("draft", "verify", "preverify", "overhead", "wasted"):
        m = cat == c
        if not m.any():
            continue
        cats.append(c)
        style: dict[str, Any] = {"edgecolor": "white", "linewidth": 0.4}
        if c == "wasted":
            style.update(color=WASTED_COLOR, hatch=WASTED_HATCH, edgecolor="white")
        else:
            style["color"] = TASK_COLORS[c]
        ax.barh(y[m], end[m] - start[m], left=start[m], height=height, zorder=2,
                label=_TASK_TEXT[c], **style)
    other = sorted(set(task_s) - set(TASK_COLORS))
    for t in other:   # a task this version does not know: drawn grey, still one bar per event
        m = (task_s == t) & ~wasted
        ax.barh(y[m], end[m] - start[m], left=start[m], height=height, color="#999999",
                zorder=2, label=t)
    labels = []
    for d in devs:
        m = dev_s == d
        idle = 1.0 - _busy_frac(start[m], end[m], t0, t1)
        labels.append(f"{_DEV_TEXT.get(d, d)}\nidle {100 * idle:.0f}%")
    ax.set_yticks(range(len(devs)), labels)
    ax.set_ylim(len(devs) - 0.5, -0.5)
    ax.set_xlim(t0, t1)
    ax.set_xlabel(_unit_axis(ax.xaxis, "total_time_s", [t0, t1], "time"))
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title is None and isinstance(trace_or_result, Result):
        title = _result_title(trace_or_result)
    if title:
        ax.set_title(title, loc="left", fontsize="medium")
    if legend:
        ax.legend(handles=_legend_handles(cats), loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False, fontsize="small")
    return ax


def _result_title(res: Result) -> str:
    return (f"{res.config.schedule}: {res.throughput_tok_s:.3g} tokens/s, "  # type: ignore
            f"{P.format_si(res.energy_per_token_j, 'J', 3)}/token")  # type: ignore[attr-defined]


def _labelled(results: Any, what: str) -> list[tuple[str, Any]]:
    if isinstance(results, (Result, pd.DataFrame)):
        results = [results]
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, Sequence) and not isinstance(results, str):
        items = []
        for i, r in enumerate(results):
            if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str):
                items.append(r)
            elif isinstance(r, Result):
                items.append((r.config.schedule, r))
            else:
                items.append((f"{what} {i}", r))
    else:
        raise ConfigError(f"expected a Result, a mapping label -> Result or a sequence of "
                          f"them, not {type(results).__name__}")
    if not items:
        raise ConfigError(f"nothing to plot: no {what}s given")
    return items


def _default_window(traces: Sequence[pd.DataFrame], rounds: int = 12) -> tuple[float, float]:
    """A steady-state window: from the middle of the shortest trace to the end of the
    ``rounds``-th verification after it in the slowest panel (so every panel shows at
    least that many rounds; the first rounds of a generation are a warm-up, e.g. EDC's
    counters start weakly taken, so ahasd and async coincide there)."""
    start = min(_trace_span(t)[0] for t in traces)
    t0 = start + 0.5 * (min(_trace_span(t)[1] for t in traces) - start)
    t1 = t0
    for t in traces:
        v = t[(t["task"].astype(str) == "verify") & (t["start_s"] >= t0)].sort_values("end_s")
        end = float(v["end_s"].iloc[min(rounds, len(v)) - 1]) if len(v) else _trace_span(t)[1]
        t1 = max(t1, end)
    if not t1 > t0:
        t0, t1 = start, max(_trace_span(t)[1] for t in traces)
    return t0, (t1 if t1 > t0 else t0 + 1.0)


def timelines(results: Mapping[str, Result | pd.DataFrame] | Sequence[Any],
              t_window_s: float | tuple[float, float] | None = None,
              fig: "Figure | None" = None) -> "Figure":
    """Timelines of several simulations, stacked with a shared time axis.

    ``results``: a mapping label -> simulated Result (or trace DataFrame),
    or a sequence of Results (labelled by schedule) or (label, Result)
    pairs, e.g. sync, async and ahasd simulated with ``trace=True``.
    ``t_window_s``: the window in seconds, a length from the first event
    or a pair (t0, t1); default: a steady-state window from the middle of
    the shortest trace, long enough for every panel to show 12
    verifications (the first rounds of a generation are a warm-up).  Same
    colours in every panel (see :func:`timeline`), one legend for the
    figure; each panel shows its own devices.  ``fig``: a Figure to draw
    into (e.g. ``matplotlib.figure.Figure()`` for use without pyplot).

    Returns the Figure; ``fig.axes`` holds one Axes per result, in order.
    """
    items = _labelled(results, "trace")
    traces = [_trace_of(r) for _, r in items]
    if t_window_s is None:
        t0, t1 = _default_window(traces)
    elif isinstance(t_window_s, (tuple, list)):
        if len(t_window_s) != 2:
            raise ConfigError(f"t_window_s = {t_window_s!r} is not allowed: must be a length "
                              "or a pair (t0, t1) in s")
        t0, t1 = (float(v) for v in t_window_s)
    else:
        t0 = min(_trace_span(t)[0] for t in traces)
        t1 = t0 + float(t_window_s)
    if not t1 > t0:
        raise ConfigError(f"t_window_s = {t_window_s!r} is not allowed: the window must have "
                          "a positive length (s)")
    if fig is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(10, 0.6 + 1.55 * len(items)), layout="constrained")
    axes = fig.subplots(len(items), 1, sharex=True, squeeze=False)[:, 0]
    cats: set[str] = set()
    for ax, (label, r), tr in zip(axes, items, traces):
        title = label
        if isinstance(r, Result):
            title = f"{label}: {_result_title(r).split(': ', 1)[1]}"
        timeline(r, ax=ax, t0=t0, t1=t1, title=title, legend=False)
        w = trace_window(tr, t0, t1)
        cats.update(_category(t, bool(x)) for t, x in zip(w["task"].astype(str), w["wasted"]))
    for ax in axes[:-1]:
        ax.set_xlabel("")
    handles = _legend_handles(cats)
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                   frameon=False, fontsize="small")
    else:
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False,
                   fontsize="small")
    return fig


# --------------------------------------------------------------------------
# Sweeps: heatmap and Pareto front
# --------------------------------------------------------------------------
def _sorted_levels(values: pd.Index) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return list(values)


def heatmap(df: pd.DataFrame, x: str, y: str, value: str, ax: "Axes | None" = None,
            agg: str | Callable[..., Any] = "mean", log: bool = False, *,
            cmap: str = "viridis", annotate: bool | None = None) -> "Axes":
    """A heatmap of ``value`` over two swept columns ``x`` and ``y`` of ``df``.

    One cell per (x, y) pair of values present; when other columns vary too,
    the rows of a cell are combined with ``agg`` ("mean", "max", "min",
    "median" or a function), which the colour-bar label says.  ``log``: a
    logarithmic colour scale.  Cells without a finite value stay blank.
    ``annotate``: print each cell's value (default: when the grid has at
    most 100 cells).

    Returns the Axes; its QuadMesh (``ax.collections[0]``) holds the
    (n_y, n_x) grid, with its colour bar at ``.colorbar``.
    """
    from matplotlib.colors import LogNorm, Normalize
    _check_columns(df, (x, y, value), "df")
    if x == y:
        raise ConfigError(f"x and y are both {x!r}: choose two different columns")
    data = df[[x, y, value]].copy()
    data[value] = pd.to_numeric(data[value], errors="coerce")
    grid = data.pivot_table(index=y, columns=x, values=value, aggfunc=agg, dropna=False,
                            observed=True)
    grid = grid.reindex(index=_sorted_levels(grid.index), columns=_sorted_levels(grid.columns))
    z = grid.to_numpy(dtype=float)
    bad = ~np.isfinite(z)
    if log:
        bad |= z <= 0
    zm = np.ma.masked_array(z, mask=bad)
    ax = _new_axes(ax)
    ok = zm.compressed()
    if log:
        norm: Any = LogNorm(vmin=ok.min(), vmax=ok.max()) if ok.size else LogNorm()
    else:
        norm = Normalize(vmin=ok.min(), vmax=ok.max()) if ok.size else Normalize()
    ny, nx = z.shape
    mesh = ax.pcolormesh(np.arange(nx + 1), np.arange(ny + 1), zm, cmap=cmap, norm=norm,
                         shading="flat")
    fig = ax.get_figure()
    cb = fig.colorbar(mesh, ax=ax)
    varying = [c for c in df.columns if c not in (x, y, value) and df[c].nunique() > 1
               and not _is_output_column(c)]
    agg_name = agg if isinstance(agg, str) else getattr(agg, "__name__", "agg")
    fmt = _si_formatter(value)
    if log:
        cb_label = axis_label(value)
    else:
        cb_label = _unit_axis(cb.ax.yaxis, value, ok)
    cb.set_label(cb_label + (f", {agg_name} over {', '.join(map(str, varying))}"
                             if varying else ""))
    labels = {}
    for axis, levels, name, n in ((ax.xaxis, grid.columns, x, nx), (ax.yaxis, grid.index, y, ny)):
        step = max(1, math.ceil(n / 12))
        pos = np.arange(0, n, step)
        text, unit = _label_parts(name)
        numeric = all(isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, bool) for v in levels)
        if numeric and unit in _PREFIXED and len(levels):
            scale, prefix = _prefix(max(abs(float(v)) for v in levels))
            ticks = [f"{float(levels[i]) / scale:.3g}" for i in pos]
            labels[name] = f"{text} ({prefix}{unit})"
        else:
            ticks = [_fmt_value(name, levels[i]) for i in pos]
            labels[name] = axis_label(name)
        axis.set_ticks(pos + 0.5, ticks)
        if axis is ax.xaxis and n > 6 and any(len(t) > 4 for t in ticks):
            ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel(labels[x])
    ax.set_ylabel(labels[y])
    if annotate is None:
        annotate = nx * ny <= 100
    if annotate and ok.size:
        mid = (np.log(ok.min() * ok.max()) / 2 if log else (ok.min() + ok.max()) / 2)
        for j in range(ny):
            for i in range(nx):
                if bad[j, i]:
                    continue
                v = z[j, i]
                dark = (math.log(v) if log else v) < mid
                ax.text(i + 0.5, j + 0.5, _scaled(v) if fmt is not None else f"{v:.3g}",
                        ha="center", va="center", fontsize="x-small",
                        color="white" if dark else "black")
    return ax


def _is_output_column(c: Any) -> bool:
    from .result import OUTPUTS
    return c in OUTPUTS or str(c).endswith("_ci95") or c in ("method", "error",
                                                               "fits_in_memory")


#: Outputs where smaller is better (the rest: larger is better).
_MINIMIZE_HINTS = ("latency", "energy", "edp", "idle", "waste", "gap_", "total_time",
                   "suppression")


def _maximize(name: str) -> bool:
    n = str(name)
    return not any(h in n for h in _MINIMIZE_HINTS)


def _pareto_mask(xv: np.ndarray, yv: np.ndarray) -> np.ndarray:
    """Non-dominated points when larger is better in both (duplicates of a front point stay)."""
    order = np.lexsort((-yv, -xv))        # x descending, ties: y descending
    keep = np.zeros(len(xv), dtype=bool)
    best_y = -np.inf
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xv[order[j + 1]] == xv[order[i]]:
            j += 1
        top = yv[order[i]]
        if top > best_y:
            for t in range(i, j + 1):
                if yv[order[t]] == top:
                    keep[order[t]] = True
            best_y = top
        i = j + 1
    return keep


def _front(df: pd.DataFrame, x: str, y: str, mx: bool, my: bool) -> pd.DataFrame:
    """The Pareto-optimal rows (``ahasd.pareto``)."""
    try:
        from .explore import pareto
    except ImportError:       # a build without the exploration module: the same rule here
        pareto = None
    if pareto is not None:
        maxi = [c for c, m in ((x, mx), (y, my)) if m]
        mini = [c for c, m in ((x, mx), (y, my)) if not m]
        return pareto(df, maximize=maxi, minimize=mini)
    xv = df[x].to_numpy(dtype=float) * (1 if mx else -1)
    yv = df[y].to_numpy(dtype=float) * (1 if my else -1)
    return df[_pareto_mask(xv, yv)]


def pareto_front(df: pd.DataFrame, x: str, y: str, ax: "Axes | None" = None,
                 maximize_x: bool | None = None, maximize_y: bool | None = None,
                 label_col: str | None = None, *, logx: bool = False,
                 logy: bool = False) -> "Axes":
    """Every point of ``df`` faint, and its Pareto front in ``x`` and ``y`` highlighted.

    ``maximize_x`` / ``maximize_y``: whether larger is better; by default
    from the name (latency, energy, EDP, idle time, waste: smaller is
    better; throughput, tokens per joule, acceptance: larger).  The front
    is ``ahasd.pareto(df, maximize=..., minimize=...)`` over the rows with
    finite x and y, drawn as one line through its points in x order;
    ``label_col``: annotate each distinct front point with that column (at
    most about 20, evenly spread).
    Returns the Axes; the front is the Line2D with gid "pareto-front".
    """
    cols = [x, y] + ([label_col] if label_col else [])
    _check_columns(df, cols, "df")
    mx = _maximize(x) if maximize_x is None else bool(maximize_x)
    my = _maximize(y) if maximize_y is None else bool(maximize_y)
    data = df.copy()
    data[x] = pd.to_numeric(data[x], errors="coerce")
    data[y] = pd.to_numeric(data[y], errors="coerce")
    data = data[np.isfinite(data[x]) & np.isfinite(data[y])]
    if "error" in data.columns:
        data = data[data["error"].isna() | (data["error"].astype(str) == "")]
    ax = _new_axes(ax)
    if len(data) == 0:
        raise ConfigError(f"no rows with finite {x} and {y} to plot")
    front = _front(data, x, y, mx, my).sort_values(x)
    ax.scatter(data[x], data[y], s=6, color="#999999", alpha=0.25, linewidths=0,
               rasterized=len(data) > 5000, label=f"all {len(data):,} points")
    distinct = front.drop_duplicates([x, y])
    text = f"Pareto front ({len(front)} point{'s' if len(front) != 1 else ''}"
    text += f", {len(distinct)} distinct)" if len(distinct) < len(front) else ")"
    ax.plot(front[x].to_numpy(), front[y].to_numpy(), "-o", color="#D55E00", markersize=4,
            linewidth=1.5, gid="pareto-front", label=text)
    if label_col:
        step = max(1, math.ceil(len(distinct) / 20))
        for _, row in distinct.iloc[::step].iterrows():
            ax.annotate(str(row[label_col]), (row[x], row[y]), textcoords="offset points",
                        xytext=(4, 4), fontsize="x-small")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    labels = []
    for axis, name, log in ((ax.xaxis, x, logx), (ax.yaxis, y, logy)):
        if log:
            f = _si_formatter(name)
            if f is not None:
                axis.set_major_formatter(f)
            labels.append(axis_label(name))
        else:
            labels.append(_unit_axis(axis, name, data[name]))
    ax.set_xlabel(labels[0] + (", higher is better" if mx else ", lower is better"))
    ax.set_ylabel(labels[1] + (", higher is better" if my else ", lower is better"))
    ax.legend(loc="best", fontsize="small", frameon=False)
    ax.grid(True, alpha=0.3)
    return ax


# --------------------------------------------------------------------------
# Breakdowns
# --------------------------------------------------------------------------
def _split_wasted(row: pd.Series, wasted: float) -> dict[str, float]:
    """Time segments of one device with ``wasted`` s carved out of its busy tasks."""
    seg = {t: float(row.get(t, 0.0)) for t in TASK_NAMES}
    left = max(0.0, float(wasted))
    for t in ("draft", "preverify", "verify", "overhead"):
        take = min(left, seg[t])
        seg[t] -= take
        left -= take
    seg["wasted"] = max(0.0, float(wasted)) - left
    return seg


def breakdown(results: Result | Mapping[str, Result] | Sequence[Any], kind: str = "time",
              ax: "Axes | None" = None, *, per_token: bool = False,
              show_wasted: bool = True) -> "Axes":
    """Stacked bars of time or energy, one bar per device of each result.

    ``kind="time"``: each device's wall time (s) by task (draft, verify,
    pre-verify, overhead, idle) over the whole generation; with
    ``show_wasted`` the busy time later discarded (``Result.wasted_s``) is
    its own hatched segment, taken out of draft first, then pre-verify,
    verify and overhead (the result does not say which task it came from).
    ``kind="energy"``: each device's energy (J) by cause (compute, memory
    traffic, static power while busy and while idle, explicit task energy);
    main memory's background power is the "memory" device.  ``per_token``:
    divide by the committed tokens (s/token, J/token).  Segments that are
    zero in every result are left out.  ``results``: a Result, a mapping
    label -> Result or a sequence of Results / (label, Result) pairs.

    Returns the Axes: one bar group per result, labelled under its bars.
    """
    kind = P.as_choice(kind, "kind", ("time", "energy"))
    items = _labelled(results, "result")
    for label, r in items:
        if not isinstance(r, Result):
            raise ConfigError(f"{label}: expected an ahasd.Result, not {type(r).__name__}")
    tables = []
    for label, r in items:
        if kind == "time":
            tb = r.time_breakdown.drop(index="mem", errors="ignore")
            if show_wasted:
                ws = r.wasted_s
                tb = pd.DataFrame([_split_wasted(tb.loc[d], ws.get(d, 0.0)) for d in tb.index],
                                  index=tb.index)
        else:
            tb = r.energy_breakdown
        if per_token:
            n = r.committed_tokens if r.committed_tokens > 0 else r.config.gen_len  # type: ignore
            tb = tb / float(n)
        tables.append((label, tb))
    order = (["draft", "verify", "preverify", "overhead", "wasted", "idle"] if kind == "time"
             else list(CAUSE_NAMES))
    segments = [s for s in order if any(s in tb.columns and (tb[s].abs() > 0).any()
                                        for _, tb in tables)]
    ax = _new_axes(ax, (max(6.4, 1.1 * sum(len(tb) for _, tb in tables) + 2), 4.2))
    xs, ticks, groups = [], [], []
    pos = 0.0
    for label, tb in tables:
        first = pos
        for dev in tb.index:
            xs.append(pos)
            ticks.append(_DEV_TEXT.get(dev, dev))
            pos += 1.0
        groups.append(((first + pos - 1.0) / 2, label))
        pos += 0.6
    values = np.concatenate([tb.reindex(columns=segments, fill_value=0.0).to_numpy(dtype=float)
                             for _, tb in tables], axis=0)
    bottom = np.zeros(len(xs))
    for j, s in enumerate(segments):
        if kind == "time":
            style: dict[str, Any] = ({"color": WASTED_COLOR, "hatch": WASTED_HATCH,
                                      "edgecolor": "white"} if s == "wasted"
                                     else {"color": TASK_COLORS[s]})
            if s == "idle":
                style["edgecolor"] = "#BBBBBB"
            text = _TASK_TEXT[s]
        else:
            style = {"color": CAUSE_COLORS[s]}
            text = _CAUSE_TEXT[s]
        ax.bar(xs, values[:, j], bottom=bottom, width=0.8, label=text, linewidth=0.5, **style)
        bottom += values[:, j]
    ax.set_xticks(xs, ticks)
    ax.tick_params(axis="x", labelsize="small", length=0)
    for cx, label in groups:
        ax.annotate(label, (cx, 0), xycoords=("data", "axes fraction"), xytext=(0, -22),
                    textcoords="offset points", ha="center", va="top", fontsize="small",
                    fontweight="bold")
    name = "total_time_s" if kind == "time" else "total_energy_j"
    what = "time" if kind == "time" else "energy"
    label = _unit_axis(ax.yaxis, name, [bottom.max() if len(bottom) else 0.0],
                       f"{what} per committed token" if per_token
                       else f"{what} over the generation")
    ax.set_ylabel(label[:-1] + "/token)" if per_token else label)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small",
              reverse=True)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# --------------------------------------------------------------------------
# Roofline
# --------------------------------------------------------------------------
def roofline(hardware: Any = None, model: Any = None, device: str = "npu",
             n_positions: int | Sequence[int] = 1, context: float = 1024,
             ax: "Axes | None" = None) -> "Axes":
    """The roofline of one device, with the operators of a forward pass on it.

    Roofs (Line2D with gid "roof:<name>"): each compute peak of the device
    times its ``compute_util`` (matrix; vector; the PIM's AAU, which has no
    utilisation factor) and each bandwidth times its utilisation (the
    memory path; the host link when the device has one, dashed).
    Operators (one marker each, Line2D with gid "op:<name>[@n]", shape by
    number of positions, colour by kind) from :func:`ahasd.pass_ops` of
    ``model`` on ``device`` of ``hardware`` for ``n_positions`` new
    positions (an int or several, e.g. [1, 5] for a draft token and a
    4-draft verification) at ``context`` cached tokens.  x: ops per byte
    over the path that sets the operator's memory time (weights, KV,
    activations that spill; everything for a nonlinear op a PIM without
    AAU ships to the host), operators with no such traffic drawn at the
    right edge; y: attained ops/s = ops / operator time (overheads
    included).  Operators without arithmetic (KV append, embedding, the
    pass overhead) are listed in a note, not drawn.  Defaults: hardware
    "ahasd-npu-pim", model "llama2-13b".
    """
    from .api import pass_ops
    from .hardware import Hardware
    from .model import Model
    hw = hardware if isinstance(hardware, Hardware) else Hardware.preset(
        hardware if hardware is not None else "ahasd-npu-pim")
    m = model if isinstance(model, Model) else Model.preset(
        model if model is not None else "llama2-13b")
    dev = getattr(hw, P.as_choice(device, "device", ("npu", "pim", "gpu", "cpu")), None)
    if dev is None:
        raise ConfigError(f"device = {device!r} is not allowed: hardware '{hw.name}' has no "
                          f"{device}; present: {', '.join(hw.devices)}")
    positions = [n_positions] if isinstance(n_positions, (int, np.integer)) else \
        list(n_positions)
    if not positions:
        raise ConfigError("n_positions is empty: give at least one number of positions")
    mem_bw = dev.mem_bw_bytes_per_s * dev.mem_bw_util
    link_bw = dev.link_bw_bytes_per_s * dev.link_bw_util
    peaks = []
    if dev.matrix_ops_per_s > 0:
        peaks.append(("matrix", "matrix peak", dev.matrix_ops_per_s * dev.compute_util))
    if dev.vector_ops_per_s > 0:
        peaks.append(("vector", "vector peak", dev.vector_ops_per_s * dev.compute_util))
    if device == "pim" and dev.has_aau and dev.aau_ops_per_s > 0:
        peaks.append(("aau", "AAU peak (nonlinear)", dev.aau_ops_per_s))
    bws = [("memory", "memory bandwidth" if device != "npu" else "off-chip bandwidth", mem_bw,
            "-")]
    if link_bw > 0:
        bws.append(("link", "host link bandwidth", link_bw, "--"))
    points = []       # (name, n, kind, x, y, no_traffic)
    skipped: set[str] = set()
    for n in positions:
        ops = pass_ops(hardware=hw, model=m, device=device, n_positions=int(n), context=context)
        for _, o in ops.iterrows():
            if not (o["ops"] > 0 and o["time_s"] > 0):
                skipped.add(o["name"])
                continue
            path_bytes = o["path_bytes"]
            attained = o["ops"] / o["time_s"]
            points.append((o["name"], int(n), o["kind"],
                           o["ops"] / path_bytes if path_bytes > 0 else math.inf, attained,
                           path_bytes <= 0))
    ax = _new_axes(ax, (7.5, 5.0))
    finite_x = [p[3] for p in points if math.isfinite(p[3])]
    top = max(v for _, _, v in peaks) if peaks else max(p[4] for p in points)
    ridge = max((v / bw for _, _, v in peaks for _, _, bw, _ in bws if bw > 0), default=1.0)
    x_lo = min(finite_x + [ridge]) / 4 if finite_x else ridge / 100
    x_hi = max(finite_x + [ridge]) * 8
    y_lo = min([p[4] for p in points] + [x_lo * min(bw for *_, bw, _ in bws if bw > 0)
                                         if any(b[2] > 0 for b in bws) else top / 1e4]) / 2
    y_hi = top * 3
    xs = np.geomspace(x_lo, x_hi, 256)
    for key, text, bw, ls in bws:
        if bw <= 0:
            continue
        y = np.minimum(xs * bw, top)
        ax.plot(xs, y, ls, color="#222222" if key == "memory" else "#777777", linewidth=1.6,
                gid=f"roof:{key}", label=f"{text} {P.format_si(bw, 'B/s', 3)}")
    for key, text, v in peaks:
        ax.plot([v / max(b[2] for b in bws if b[2] > 0) if any(b[2] > 0 for b in bws) else x_lo,
                 x_hi], [v, v], ":" if key != "matrix" else "-", color="#222222",
                linewidth=1.2 if key != "matrix" else 1.6, gid=f"roof:{key}",
                label=f"{text} {P.format_si(v, 'ops/s', 3)}")
    seen_kinds: set[str] = set()
    names_at: dict[tuple[float, float], tuple[tuple[float, float], list[str]]] = {}
    x_edge = x_hi / 1.6
    for name, n, kind, xi, yi, none in points:
        marker, colour = _OP_KIND_STYLE.get(kind, ("o", "#999999"))
        if len(positions) > 1:
            marker = _POSITION_MARKERS[positions.index(n) % len(_POSITION_MARKERS)]
        lab = None
        key = kind if len(positions) == 1 else f"{kind}, n = {n}"
        if key not in seen_kinds:
            seen_kinds.add(key)
            lab = f"{kind} operators" + (f" (n = {n})" if len(positions) > 1 else "")
        ax.plot([x_edge if none else xi], [yi], marker=">" if none else marker, linestyle="none",
                color=colour, markersize=6, markeredgecolor="white", markeredgewidth=0.5,
                gid=f"op:{name}" + (f"@{n}" if len(positions) > 1 else ""), label=lab)
        if len(positions) == 1 or n == positions[0]:
            spot = (round(math.log10(x_edge if none else xi), 2), round(math.log10(yi), 2))
            names_at.setdefault(spot, ((x_edge if none else xi, yi), []))[1].append(name)
    for (xy, names) in names_at.values():
        ax.annotate(", ".join(names), xy, textcoords="offset points", xytext=(5, -3),
                    fontsize=6, color="#444444")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    from matplotlib.ticker import NullFormatter
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(_eng())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("arithmetic intensity (ops/byte over the memory path)")
    ax.set_ylabel("attained performance (ops/s)")
    pos_text = ", ".join(str(n) for n in positions)
    ax.set_title(f"{m.name} on {hw.name} {_DEV_TEXT.get(device, device)}: {pos_text} "
                 f"position{'s' if positions != [1] else ''} at context {context:g}",
                 fontsize="medium")
    notes = []
    if skipped:
        notes.append("not drawn (no arithmetic): " + ", ".join(sorted(skipped)))
    if any(p[5] for p in points):
        notes.append("> at the right edge: no memory-path traffic")
    if notes:
        ax.text(0.01, 0.01, "\n".join(notes), transform=ax.transAxes, fontsize=6,
                va="bottom", color="#444444")
    ax.legend(loc="upper left", fontsize="x-small", frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    return ax


# --------------------------------------------------------------------------
# Draft-length and acceptance histograms
# --------------------------------------------------------------------------
def draft_histograms(dist_or_policy: Any = None, ax: Any = None, *,
                     sample: pd.DataFrame | bool | None = None, label: str | None = None,
                     color: str | None = None, **kwargs: Any) -> tuple["Axes", "Axes"]:
    """Bar charts of P(K = k) (draft length) and P(A = j) (accepted tokens).

    ``dist_or_policy``: an ``ahasd.draft_distribution`` result, or a policy
    (name or Policy) whose exact distribution is computed with ``kwargs``
    (workload=, alpha=, start=, policy parameters).  ``ax``: None (a new
    figure with two panels), a pair of Axes, or one Axes (both laws side by
    side on it).  ``sample``: a DataFrame with columns k and a (e.g.
    ``ahasd.draft_sample``), or True to draw 10,000 batches with the
    simulator's sampler (seed 0), overlaid as markers of its empirical
    frequencies.  Bars cover 0..k_max; each panel's bars sum to 1.  The
    means E[K] and E[A] are dashed lines.

    Returns (axes of P(K), axes of P(A)).
    """
    from .api import DraftDistribution, draft_distribution, draft_sample
    if isinstance(dist_or_policy, DraftDistribution):
        if kwargs:
            raise ConfigError(f"{', '.join(kwargs)}: not allowed with a DraftDistribution "
                              "(its policy and workload are fixed)")
        dist = dist_or_policy
    else:
        dist = draft_distribution(policy=dist_or_policy, **kwargs)
    if sample is True:
        samp = draft_sample(policy=dist.policy, workload=dist.workload, start=dist.start,
                            n=10_000, seed=0)
    elif sample is None or sample is False:
        samp = None
    else:
        samp = sample
        _check_columns(samp, ("k", "a"), "sample")
    single = False
    if ax is None:
        import matplotlib.pyplot as plt
        _, (ax_k, ax_a) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    elif isinstance(ax, (tuple, list, np.ndarray)):
        if len(ax) != 2:
            raise ConfigError(f"ax must be None, one Axes or two, not {len(ax)}")
        ax_k, ax_a = ax
    else:
        ax_k = ax_a = ax
        single = True
    ks = np.arange(dist.k_max + 1)
    pk, pa = np.asarray(dist.p_k, dtype=float), np.asarray(dist.p_a, dtype=float)
    width, off_k, off_a = (0.4, -0.2, 0.2) if single else (0.8, 0.0, 0.0)
    name = label or f"{dist.policy.kind} on {dist.workload.name}"
    ck = color or TASK_COLORS["draft"]
    ca = color or TASK_COLORS["verify"]
    ax_k.bar(ks + off_k, pk, width=width, color=ck, label=f"P(K) {name}" if single else name)
    ax_a.bar(ks + off_a, pa, width=width, color=ca, alpha=1.0 if not color else 0.6,
             label=f"P(A) {name}" if single else name)
    ax_k.axvline(dist.mean_draft_len, color="#222222", linestyle="--", linewidth=1,
                 label=f"E[K] = {dist.mean_draft_len:.3g}")
    ax_a.axvline(dist.mean_accepted, color="#555555", linestyle=":", linewidth=1,
                 label=f"E[A] = {dist.mean_accepted:.3g}")
    if samp is not None and len(samp):
        n = len(samp)
        fk = np.bincount(np.asarray(samp["k"], dtype=int), minlength=len(ks))[: len(ks)] / n
        fa = np.bincount(np.asarray(samp["a"], dtype=int), minlength=len(ks))[: len(ks)] / n
        ax_k.plot(ks + off_k, fk, "o", color="black", markersize=3, gid="sample",
                  label=f"sample of {n:,} batches")
        ax_a.plot(ks + off_a, fa, "o", color="black", markersize=3, gid="sample",
                  label=None if single else f"sample of {n:,} batches")
    for a in {id(ax_k): ax_k, id(ax_a): ax_a}.values():
        a.set_ylabel("probability")
        a.legend(fontsize="x-small", frameon=False)
        a.spines[["top", "right"]].set_visible(False)
        step = max(1, math.ceil(len(ks) / 17))
        a.set_xticks(ks[::step])
    if single:
        ax_k.set_xlabel("tokens per batch (K drafted, A accepted)")
        ax_k.set_title(str(dist.policy), fontsize="small")
    else:
        ax_k.set_xlabel("draft length K (tokens per batch)")
        ax_a.set_xlabel("accepted tokens A per batch")
        ax_k.set_title(f"P(K = k): {name}", fontsize="small")
        ax_a.set_title(f"P(A = j): {name}", fontsize="small")
    return ax_k, ax_a
