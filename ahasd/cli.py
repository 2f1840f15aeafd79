"""The ``ahasd`` command line (also ``python -m ahasd``).

    ahasd estimate  [design point] [--json]
    ahasd simulate  [design point] [--seed N] [--runs N] [--trace FILE.csv] [--json]
    ahasd compare   [design point] [--schedules a,b,...] [--json]
    ahasd presets   [KIND] [--show NAME]
    ahasd demo      [--out DIR]
    ahasd sweep     [design point] --axis NAME=SPEC ... --out FILE.csv|FILE.parquet
    ahasd plot      timeline|heatmap|pareto|breakdown|roofline|histograms ... --out FILE.png

Bad input never ends in a traceback: the message goes to stderr as
"ahasd: error: <message>" and the exit status is 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from . import presets as P
from .api import DEFAULT_RUNS, estimate, simulate
from .config import DEFAULTS, SCHEDULES, TVC_PREDICTORS, Config
from .errors import AhasdError, ConfigError
from .policy import POLICY_KINDS
from .result import OUTPUTS, Result

__all__ = ["main", "build_parser", "demo_figures", "parse_axis"]

PROG = "ahasd"


# --------------------------------------------------------------------------
# Options of a design point
# --------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _real(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def _arms(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(a) for a in text.split(",") if a.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of draft lengths") from None


def _setting(text: str) -> tuple[str, Any]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    v: Any = value.strip()
    low = v.lower()
    if low in ("true", "false"):
        v = low == "true"
    else:
        try:
            v = int(v)
        except ValueError:
            try:
                v = float(v)
            except ValueError:
                pass
    return name.strip(), v


# (option, dest, type, metavar, help)
_POLICY_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], str, str], ...] = (
    ("--k", "k", _positive_int, "TOKENS", "fixed policy: draft length k (tokens per batch)"),
    ("--k-min", "k_min", _positive_int, "TOKENS", "adaptive policies: fewest tokens per batch"),
    ("--k-max", "k_max", _positive_int, "TOKENS", "adaptive policies: most tokens per batch"),
    ("--svip-h", "svip_h", _real, "H", "svip: stop when sqrt(svip_c * entropy) > H"),
    ("--svip-c", "svip_c", _real, "C", "svip: constant c (default 0.15)"),
    ("--adaedl-gamma", "adaedl_gamma", _real, "G",
     "adaedl: stop when 1 - sqrt(G * entropy) < lambda"),
    ("--adaedl-lambda", "adaedl_lambda", _real, "L", "adaedl: threshold lambda"),
    ("--specdecpp-tau", "specdecpp_tau", _real, "TAU",
     "specdecpp: stop when P(some draft rejected) > TAU (probability)"),
    ("--specdecpp-grid", "specdecpp_grid", _positive_int, "N",
     "specdecpp: fixed-point steps per threshold"),
    ("--arms", "arms", _arms, "K1,K2,...", "banditspec: draft lengths the bandit chooses from"),
    ("--bandit-explore", "bandit_explore", _real, "C",
     "banditspec: UCB exploration constant (sqrt(2) = UCB1)"),
    ("--bandit-cost-ratio", "bandit_cost_ratio", _real, "RATIO",
     "banditspec: draft/verify cost ratio in the reward (<= 0: from the task costs)"),
)


def _add_policy_options(p: argparse.ArgumentParser) -> None:
    """The options of _POLICY_OPTIONS, in their own group of the help."""
    pg = p.add_argument_group("policy parameters (entropy H in nats)")
    for opt, dest, typ, metavar, text in _POLICY_OPTIONS:
        pg.add_argument(opt, dest=dest, type=typ, metavar=metavar, help=text)


def _add_design_point(p: argparse.ArgumentParser, *, schedule: bool = True) -> None:
    g = p.add_argument_group("design point (defaults: the AHASD platform, "
                             "llama2-7b drafting for llama2-13b, fixed k=4, alpaca)")
    if schedule:
        g.add_argument("--schedule", choices=SCHEDULES, metavar="NAME",
                       help=f"one of {', '.join(SCHEDULES)} (default {DEFAULTS['schedule']})")
    g.add_argument("--hardware", metavar="NAME|FILE.toml",
                   help=f"hardware preset or file (default {DEFAULTS['hardware']}; "
                        "see `ahasd presets hardware`)")
    g.add_argument("--draft", metavar="NAME|FILE.toml",
                   help=f"draft model preset or file (default {DEFAULTS['draft']})")
    g.add_argument("--target", metavar="NAME|FILE.toml",
                   help=f"target model preset or file (default {DEFAULTS['target']})")
    g.add_argument("--policy", choices=POLICY_KINDS, metavar="NAME",
                   help=f"drafting policy: {', '.join(POLICY_KINDS)} (default fixed)")
    g.add_argument("--alpha", type=_real, metavar="PROB",
                   help="i.i.d. acceptance probability per draft token, in [0, 1] "
                        "(replaces the workload profile)")
    g.add_argument("--workload", metavar="NAME|FILE.toml",
                   help=f"workload profile preset or file (default {DEFAULTS['workload']})")
    g.add_argument("--prompt-len", type=_positive_int, metavar="TOKENS",
                   help="prompt tokens already in the KV caches (default 128)")
    g.add_argument("--gen-len", type=_positive_int, metavar="TOKENS",
                   help="tokens generated (default 1024)")
    g.add_argument("--l-max", type=_positive_int, metavar="BATCHES",
                   help="async schedules: unverified-draft queue capacity in batches (default 3)")
    g.add_argument("--m-max", type=_positive_int, metavar="TOKENS",
                   help="ahasd: most tokens per pre-verification (default 8)")
    g.add_argument("--k-design", type=_positive_int, metavar="TOKENS",
                   help="partitioned: design draft length k* (0: the policy's mean)")
    g.add_argument("--segments", type=_positive_int, metavar="N",
                   help="context segments of an analytical run (default 2)")
    g.add_argument("--tvc-predictor", choices=TVC_PREDICTORS, metavar="NAME",
                   help="simulator's TVC latency predictor: moving-average (paper) or exact")
    _add_policy_options(p)
    g.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                   metavar="NAME=VALUE",
                   help="any parameter by its dotted name, in SI units; repeatable. "
                        "E.g. pim.mem_bw_bytes_per_s=5.12e11 (bytes/s), pim.has_aau=false, "
                        "npu.static_w=0.5 (W), contention=0.2, sync_s=2e-6 (s), "
                        "target.weight_bytes=0.5 (bytes per weight), workload.position_decay=0.98")


_DESIGN_DESTS = ("schedule", "hardware", "draft", "target", "policy", "alpha", "workload",
                 "prompt_len", "gen_len", "l_max", "m_max", "k_design", "segments",
                 "tvc_predictor", *(o[1] for o in _POLICY_OPTIONS))


def _given(args: argparse.Namespace, dests: Sequence[str]) -> dict[str, Any]:
    """The options among ``dests`` that the command line set (not None)."""
    return {d: getattr(args, d) for d in dests if getattr(args, d, None) is not None}


def _design_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw = _given(args, _DESIGN_DESTS)
    for name, value in args.settings:
        if name in kw:
            raise ConfigError(f"--set {name}=... repeats an option given already")
        kw[name] = value
    return kw


def _config(args: argparse.Namespace, **override: Any) -> Config:
    kw = _design_kwargs(args)
    kw.update(override)
    return Config.build(**kw)


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _config_dict(cfg: Config) -> dict[str, Any]:
    return {"schedule": cfg.schedule, "hardware": cfg.hardware_name, "draft": cfg.draft_name,
            "target": cfg.target_name, "policy": str(cfg.policy), "workload": cfg.workload.name,
            "prompt_len": cfg.prompt_len, "gen_len": cfg.gen_len, "l_max": cfg.l_max,
            "m_max": cfg.m_max, "k_design": cfg.k_design, "segments": cfg.segments,
            "tvc_predictor": cfg.tvc_predictor}


def result_json(res: Result) -> dict[str, Any]:
    """A Result as JSON-ready data: canonical outputs at the top level (NaN -> null)."""
    d: dict[str, Any] = res.to_dict()
    d["fits_in_memory"] = res.fits_in_memory
    d["approximations"] = res.approximations
    d["notes"] = res.notes
    if res.method == "simulation":
        d["n_runs"] = res.n_runs
        d["ci95"] = res.ci95
    d["config"] = _config_dict(res.config)
    return _jsonable(d)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


_OUTPUT_EPILOG = ("outputs (SI units): " + ", ".join(OUTPUTS) +
                  ".  Suffixes give units: _tok_s tokens/s, _s seconds, _j joules, "
                  "_js joule-seconds, _frac fractions in [0, 1].")


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------
def _print_result(res: Result, args: argparse.Namespace) -> None:
    """One result as --json and --verbose ask (see _add_result_format)."""
    if args.json:
        _print_json(result_json(res))
    else:
        print(res.summary() if args.verbose else res)


def cmd_estimate(args: argparse.Namespace) -> int:
    _print_result(estimate(config=_config(args)), args)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    res = simulate(config=_config(args), seed=args.seed, n_runs=args.runs,
                   trace=args.trace is not None)
    if args.trace is not None:
        res.trace.to_csv(args.trace, index=False)
    _print_result(res, args)
    if args.trace is not None and not args.json:
        print(f"trace of run 0 ({len(res.trace)} events) written to {args.trace}")
    return 0


def _row(label: str, res: Result | None, base: Result | None, error: str = ""
         ) -> dict[str, Any]:
    if res is None:
        return {"label": label, "error": error}
    row = {"label": label, "schedule": res.config.schedule, "hardware": res.config.hardware_name,
           "throughput_tok_s": res.throughput_tok_s,  # type: ignore[attr-defined]
           "latency_per_token_s": res.latency_per_token_s,  # type: ignore[attr-defined]
           "energy_per_token_j": res.energy_per_token_j,  # type: ignore[attr-defined]
           "tokens_per_j": res.tokens_per_j,  # type: ignore[attr-defined]
           "acceptance_rate": res.acceptance_rate,  # type: ignore[attr-defined]
           "method": res.method, "fits_in_memory": res.fits_in_memory}
    if base is not None:
        row["speedup_vs_ar"] = res.throughput_tok_s / base.throughput_tok_s  # type: ignore
        row["energy_gain_vs_ar"] = (base.energy_per_token_j  # type: ignore[attr-defined]
                                    / res.energy_per_token_j)  # type: ignore[attr-defined]
    return row


def format_table(rows: list[dict[str, Any]], baseline: str) -> str:
    """A comparison table: one line per configuration, speed-up vs ``baseline``."""
    head = (f"{'configuration':<34} {'tok/s':>9} {'ms/token':>10} {'mJ/token':>10} "
            f"{'tok/J':>8} {'speed-up':>9} {'energy':>8}  method")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['label']:<34} n/a: {r['error']}")
            continue
        su = f"{r['speedup_vs_ar']:.2f}x" if "speedup_vs_ar" in r else "-"
        eg = f"{r['energy_gain_vs_ar']:.2f}x" if "energy_gain_vs_ar" in r else "-"
        flag = "" if r["fits_in_memory"] else "  (does not fit in memory)"
        lines.append(f"{r['label']:<34} {r['throughput_tok_s']:>9.3g} "
                     f"{1e3 * r['latency_per_token_s']:>10.4g} "
                     f"{1e3 * r['energy_per_token_j']:>10.4g} {r['tokens_per_j']:>8.3g} "
                     f"{su:>9} {eg:>8}  {r['method']}{flag}")
    lines.append(f"speed-up and energy gain (energy per token) are relative to {baseline}.")
    return "\n".join(lines)


def _run_rows(points: list[tuple[str, dict[str, Any]]], args: argparse.Namespace,
              base_label: str) -> tuple[list[dict[str, Any]], dict[str, Result]]:
    """Estimate each (label, overrides); the first one is the baseline."""
    results: dict[str, Result] = {}
    errors: dict[str, str] = {}
    for label, override in points:
        try:
            results[label] = estimate(config=_config(args, **override))
        except ConfigError as exc:   # this schedule cannot run here: report it in the table
            errors[label] = str(exc)
    base = results.get(base_label)
    rows = [_row(label, results.get(label), base, errors.get(label, ""))
            for label, _ in points]
    return rows, results


def _schedules(args: argparse.Namespace, default: Sequence[str]) -> list[str]:
    """The schedules of --schedules (``default`` without it), each a known name."""
    schedules = list(args.schedules or default)
    for s in schedules:
        P.as_choice(s, "--schedules", SCHEDULES)
    return schedules


def cmd_compare(args: argparse.Namespace) -> int:
    schedules = _schedules(args, SCHEDULES)
    if "autoregressive" not in schedules:
        schedules = ["autoregressive", *schedules]
    points = [(s, {"schedule": s}) for s in schedules]
    rows, _ = _run_rows(points, args, "autoregressive")
    if args.json:
        _print_json(_jsonable(rows))
    else:
        cfg = _config(args, schedule="autoregressive")
        print(f"{cfg.hardware_name}: {cfg.draft_name} -> {cfg.target_name}, {cfg.policy}, "
              f"{cfg.workload.name}, {cfg.gen_len} tokens after {cfg.prompt_len}")
        print(format_table(rows, "autoregressive on the same hardware"))
    return 0


#: The demo's design points: (label, schedule, hardware preset).
DEMO_POINTS: tuple[tuple[str, str, str], ...] = (
    ("autoregressive (NPU)", "autoregressive", "ahasd-npu-pim"),
    ("serial (GPU only, rtx4090-laptop)", "serial", "rtx4090-laptop"),
    ("serial (NPU only, npu-lpddr5)", "serial", "npu-lpddr5"),
    ("sync (PIM drafts, NPU verifies)", "sync", "ahasd-npu-pim"),
    ("partitioned (specpim-gpu-pim)", "partitioned", "specpim-gpu-pim"),
    ("async", "async", "ahasd-npu-pim"),
    ("async-edc", "async-edc", "ahasd-npu-pim"),
    ("ahasd (EDC + TVC + AAU)", "ahasd", "ahasd-npu-pim"),
)


#: The demo's timeline panels: (panel label, label of the DEMO_POINTS result it simulates).
DEMO_TIMELINE: tuple[tuple[str, str], ...] = (
    ("sync", "sync (PIM drafts, NPU verifies)"),
    ("async", "async"),
    ("ahasd", "ahasd (EDC + TVC + AAU)"),
)


def demo_figures(out_dir: Path, results: dict[str, Result], seed: int = 0) -> list[Path]:
    """The demo's figures, written into ``out_dir``; returns the files written.

    ``timeline_sync_async_ahasd.png``: one simulated generation (with its
    event trace) of each of sync, async and ahasd on the design points of
    ``results``, drawn as NPU/PIM timelines over the same window.
    ``breakdown_sync_async_ahasd.png``: the analytical time (s) and energy
    (J) of each device of the same three points, by task and by cause.
    Figures are made without pyplot (no display needed).
    """
    from matplotlib.figure import Figure

    from . import plots
    chosen = [(panel, results[label]) for panel, label in DEMO_TIMELINE if label in results]
    if not chosen:
        return []
    written = []
    runs = {panel: simulate(config=res.config, seed=seed, n_runs=1, trace=True)
            for panel, res in chosen}
    fig = Figure(figsize=(10, 0.8 + 1.55 * len(runs)), layout="constrained")
    plots.timelines(runs, fig=fig)
    fig.suptitle(f"{chosen[0][1].config.draft_name} drafting for "
                 f"{chosen[0][1].config.target_name} on {chosen[0][1].config.hardware_name}: "
                 "one simulated generation (run 0)", fontsize="medium")
    path = out_dir / "timeline_sync_async_ahasd.png"
    fig.savefig(path, dpi=120)
    written.append(path)
    fig = Figure(figsize=(13, 4.4), layout="constrained")
    ax_t, ax_e = fig.subplots(1, 2)
    est = dict(chosen)
    plots.breakdown(est, kind="time", ax=ax_t, per_token=True)
    plots.breakdown(est, kind="energy", ax=ax_e, per_token=True)
    path = out_dir / "breakdown_sync_async_ahasd.png"
    fig.savefig(path, dpi=120)
    written.append(path)
    return written


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    points = [(label, {"schedule": s, "hardware": hw}) for label, s, hw in DEMO_POINTS]
    rows, results = _run_rows(points, args, DEMO_POINTS[0][0])
    cfg = _config(args, schedule="ahasd", hardware=DEFAULTS["hardware"])
    title = (f"ahasd demo: {cfg.draft_name} drafting for {cfg.target_name}, {cfg.policy}, "
             f"{cfg.workload.name}, {cfg.gen_len} tokens after a {cfg.prompt_len}-token prompt")
    table = format_table(rows, DEMO_POINTS[0][0] + " on " + DEMO_POINTS[0][2])
    print(title)
    print(table)
    (out / "demo.txt").write_text(title + "\n" + table + "\n")
    (out / "demo.json").write_text(json.dumps(_jsonable(rows), indent=2) + "\n")
    try:
        import pandas as pd
        pd.DataFrame(rows).to_csv(out / "demo.csv", index=False)
    except ImportError:  # pandas is a dependency; keep the demo going regardless
        pass
    if DEMO_POINTS[-1][0] in results:
        (out / "ahasd_summary.txt").write_text(results[DEMO_POINTS[-1][0]].summary() + "\n")
    figures = demo_figures(out, results)
    print(f"wrote {out / 'demo.txt'}, {out / 'demo.csv'}, {out / 'demo.json'}"
          + (f", {out / 'ahasd_summary.txt'}" if DEMO_POINTS[-1][0] in results else ""))
    if figures:
        print("figures: " + ", ".join(str(f) for f in figures))
    else:
        print("figures: none (sync, async and ahasd could not run on this design point)")
    return 0


# --------------------------------------------------------------------------
# Sweeps and plots
# --------------------------------------------------------------------------
#: Axes whose values are names, not numbers (ahasd.sweep's categorical axes).
CATEGORICAL_AXES: tuple[str, ...] = ("schedule", "policy", "workload", "hardware", "draft",
                                     "target", "pair")
#: The design-point option that sets the same thing as each categorical or policy axis.
_AXIS_OPTION = {"schedule": "--schedule", "policy": "--policy", "workload": "--workload",
                "hardware": "--hardware", "draft": "--draft", "target": "--target",
                "alpha": "--alpha", "prompt_len": "--prompt-len", "gen_len": "--gen-len",
                "l_max": "--l-max", "m_max": "--m-max", "k_design": "--k-design",
                "segments": "--segments", **{o[1]: o[0] for o in _POLICY_OPTIONS}}


def _number(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def _param_names() -> list[str]:
    from ._native import ffi, lib
    return [ffi.string(lib.ahasd_param_name(i)).decode() for i in range(lib.ahasd_param_count())]


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """One ``--axis NAME=SPEC`` of `ahasd sweep` -> (name, values).

    SPEC is ``lo:hi:n`` (n evenly spaced values, ends included), ``lo:hi:n:log``
    (n geometrically spaced), ``lo:hi`` (every integer from lo to hi), a comma
    list ``a,b,c`` or one value.  Integer parameters must get integers;
    categorical axes (schedule, policy, workload, hardware, draft, target,
    pair) take comma lists of names.  Raises ConfigError naming the flag.
    """
    import numpy as np
    from ._native import lib
    flag = f"--axis {text!r}"
    name, eq, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not eq or not name or not spec:
        raise ConfigError(f"{flag} is not NAME=SPEC (SPEC: lo:hi:n, lo:hi:n:log, lo:hi or "
                          "a,b,c; e.g. --axis pim.internal_bw=64e9:512e9:8 --axis k=1:16)")
    if name in CATEGORICAL_AXES:
        values = [v.strip() for v in spec.split(",") if v.strip()]
        if name == "schedule":
            for v in values:
                P.as_choice(v, "--axis schedule", SCHEDULES)
        if name == "policy":
            for v in values:
                P.as_choice(v, "--axis policy", POLICY_KINDS)
        if not values:
            raise ConfigError(f"{flag}: no values")
        if name == "pair":
            pairs = [tuple(v.split(":")) for v in values]
            bad = [v for v, p in zip(values, pairs) if len(p) != 2 or not all(p)]
            if bad:
                raise ConfigError(f"{flag}: {bad[0]!r} is not DRAFT:TARGET (e.g. "
                                  "pair=llama2-7b:llama2-13b,opt-1.3b:opt-6.7b)")
            return name, pairs
        return name, values
    pid = lib.ahasd_param_find(name.encode())
    if pid < 0:
        names = list(CATEGORICAL_AXES) + _param_names()
        raise ConfigError(f"{flag}: unknown parameter {name!r}{P.close_names(name, names)}; "
                          "numeric axes are the dotted names of `ahasd estimate --set` "
                          "(e.g. pim.internal_bw, npu.mem_bw_bytes_per_s, k, l_max, svip_h, "
                          "alpha); categorical axes: " + ", ".join(CATEGORICAL_AXES))
    is_int = lib.ahasd_param_is_int(pid) == 1
    parts = spec.split(":")

    def num(t: str) -> float:
        try:
            return _number(t)
        except ValueError:
            raise ConfigError(f"{flag}: {spec!r} is not lo:hi:n, lo:hi:n:log, lo:hi or a "
                              f"comma list of numbers ({t.strip()!r} is not a number)") from None

    if len(parts) == 1:
        values = [num(v) for v in spec.split(",") if v.strip()]
    elif len(parts) == 2:
        lo, hi = num(parts[0]), num(parts[1])
        if not (lo.is_integer() and hi.is_integer()) or hi < lo:
            raise ConfigError(f"{flag}: lo:hi means every integer from lo to hi (lo <= hi, "
                              f"both integers); for reals give the number of points: "
                              f"{name}={parts[0]}:{parts[1]}:N")
        values = [float(v) for v in range(int(lo), int(hi) + 1)]
    elif len(parts) in (3, 4):
        lo, hi = num(parts[0]), num(parts[1])
        n = num(parts[2])
        if not n.is_integer() or n < 1:
            raise ConfigError(f"{flag}: the number of points must be an integer >= 1, "
                              f"not {parts[2]!r}")
        if len(parts) == 4:
            if parts[3] != "log":
                raise ConfigError(f"{flag}: the fourth field may only be 'log', "
                                  f"not {parts[3]!r}")
            if lo <= 0 or hi <= 0:
                raise ConfigError(f"{flag}: a log axis needs lo > 0 and hi > 0")
            values = [float(v) for v in np.geomspace(lo, hi, int(n))]
        else:
            values = [float(v) for v in np.linspace(lo, hi, int(n))]
    else:
        raise ConfigError(f"{flag}: {spec!r} is not lo:hi:n, lo:hi:n:log, lo:hi or a "
                          "comma list of numbers")
    if not values:
        raise ConfigError(f"{flag}: no values")
    if is_int:
        bad = [v for v in values if abs(v - round(v)) > 1e-9 * max(1.0, abs(v))]
        if bad:
            raise ConfigError(f"{flag}: {name} is an integer parameter, but the values include "
                              f"{bad[0]:g}; choose lo, hi and n so that the steps are whole "
                              "numbers")
        return name, [int(round(v)) for v in values]
    return name, values


def _out_format(path: str, flag: str, allowed: Sequence[str], *, writing: bool = True) -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in allowed:
        raise ConfigError(f"{flag} {path!r}: unknown format {('.' + ext) if ext else '(none)'}; "
                          f"use one of {', '.join('.' + a for a in allowed)}")
    parent = Path(path).parent
    if writing and not parent.is_dir():
        raise ConfigError(f"{flag} {path!r}: the directory {str(parent)!r} does not exist")
    return ext


def _read_table(path: str, flag: str) -> Any:
    import pandas as pd
    ext = _out_format(path, flag, ("csv", "parquet"), writing=False)
    if not Path(path).is_file():
        raise ConfigError(f"{flag} {path!r}: no such file")
    try:
        return pd.read_parquet(path) if ext == "parquet" else pd.read_csv(path)
    except (ValueError, ImportError, OSError) as exc:
        raise ConfigError(f"{flag} {path!r}: cannot be read: {exc}") from None


def _check_column(df: Any, col: str | None, flag: str, source: str) -> None:
    if col is not None and col not in df.columns:
        raise ConfigError(f"{flag} {col!r} is not a column of {source}"
                          f"{P.close_names(col, list(map(str, df.columns)))}; columns: "
                          + ", ".join(map(str, df.columns)))


def cmd_sweep(args: argparse.Namespace) -> int:
    import time
    out_ext = _out_format(args.out, "--out", ("csv", "parquet"))
    axes: dict[str, list[Any]] = {}
    for text in args.axes:
        name, values = parse_axis(text)
        if name in axes:
            raise ConfigError(f"--axis {text!r}: {name} is swept twice")
        axes[name] = values
    if not axes:
        raise ConfigError("give at least one --axis NAME=SPEC "
                          "(e.g. --axis pim.internal_bw=64e9:512e9:8 --axis k=1:16)")
    kw = _design_kwargs(args)
    for name in axes:
        if name in kw:
            raise ConfigError(f"--axis {name}=...: {name} is also set by "
                              f"{_AXIS_OPTION.get(name, '--set ' + name)}; give it once")
    from .policy import FAMILY_PARAMS
    policy = kw.get("policy", "fixed")
    for name, values in axes.items():
        owner = next((o for o, ps in FAMILY_PARAMS.items() if name in ps), None)
        if owner is not None and "policy" not in axes and owner != policy:
            raise ConfigError(f"--axis {name}=...: {name} is a parameter of policy '{owner}', "
                              f"but the policy is '{policy}'; add --policy {owner}")
    outputs = None
    if args.outputs:
        outputs = [o.strip() for o in args.outputs.split(",") if o.strip()]
        for o in outputs:
            P.as_choice(o, "--outputs", OUTPUTS)
    import warnings

    from .sweep import SweepWarning, sweep
    base = Config.build(**kw) if kw else None
    progress = None if not args.quiet and sys.stderr.isatty() else False
    t = time.perf_counter()
    with warnings.catch_warnings():     # failed points are counted below, once
        warnings.simplefilter("ignore", SweepWarning)
        df = sweep(base, simulate=args.simulate, n_runs=args.runs, seed=args.seed,
                   outputs=outputs, progress=progress, **axes)
    dt = time.perf_counter() - t
    if out_ext == "parquet":
        try:
            df.to_parquet(args.out, index=False)
        except ImportError as exc:
            raise ConfigError(f"--out {args.out!r}: writing parquet needs pyarrow ({exc}); "
                              "use .csv or `pip install pyarrow`") from None
    else:
        df.to_csv(args.out, index=False)
    n_err = int(df["error"].notna().sum() - (df["error"].astype(str) == "").sum()) \
        if "error" in df.columns else 0
    if not args.quiet:
        method = "simulated" if args.simulate else "estimated"
        print(f"{len(df)} design points {method} in {dt:.3g} s "
              f"({', '.join(f'{k}: {len(v)}' for k, v in axes.items())})"
              + (f"; {n_err} could not run (see the error column)" if n_err else ""))
        ok = df[df["error"].isna() | (df["error"].astype(str) == "")] \
            if "error" in df.columns else df
        if "throughput_tok_s" in ok.columns and len(ok):
            best = ok.loc[ok["throughput_tok_s"].idxmax()]
            names = [n for k in axes for n in (("draft", "target") if k == "pair" else (k,))]
            where = ", ".join(f"{k} = {best[k]:.4g}" if isinstance(best[k], float)
                              else f"{k} = {best[k]}" for k in names if k in best.index)
            print(f"highest throughput {best['throughput_tok_s']:.4g} tokens/s at {where}")
        print(f"wrote {args.out}")
    return 0


def _new_figure(size: tuple[float, float]) -> Any:
    """A Figure without pyplot (no display or backend needed)."""
    from matplotlib.figure import Figure
    return Figure(figsize=size, layout="constrained")


def _save(fig: Any, args: argparse.Namespace) -> int:
    fig.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}")
    return 0


def _image_formats() -> list[str]:
    from matplotlib.figure import Figure
    return sorted(Figure().canvas.get_supported_filetypes())


def _window(text: str) -> tuple[float, float] | float:
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            return (_number(a), _number(b))
        return _number(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a length T or a range T0:T1 "
                                         "in seconds") from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _where(df: Any, conds: list[str], source: str) -> Any:
    import pandas as pd
    for cond in conds:
        col, eq, value = cond.partition("=")
        if not eq:
            raise ConfigError(f"--where {cond!r} is not COLUMN=VALUE")
        _check_column(df, col, "--where", source)
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            try:
                v = float(value)
            except ValueError:
                raise ConfigError(f"--where {cond!r}: column {col} is numeric, {value!r} "
                                  "is not a number") from None
            mask = (s - v).abs() <= 1e-9 * max(1.0, abs(v))
        else:
            mask = s.astype(str) == value
        if not mask.any():
            raise ConfigError(f"--where {cond!r}: no row has {col} = {value}; values: "
                              + ", ".join(map(str, pd.unique(s)[:12])))
        df = df[mask]
    return df


#: The schedules a timeline or breakdown plot compares without --schedules.
_PLOT_SCHEDULES = ("sync", "async", "ahasd")


def cmd_plot(args: argparse.Namespace) -> int:
    _out_format(args.out, "--out", _image_formats())
    from . import plots   # figures are made without pyplot: no display needed
    what = args.plot
    if what == "timeline":
        traces: list[tuple[str, Any]] = []
        if args.traces:
            import pandas as pd
            for path in args.traces:
                if not Path(path).is_file():
                    raise ConfigError(f"--trace {path!r}: no such file")
                tr = pd.read_csv(path)
                for c in ("device", "task", "start_s", "end_s", "wasted"):
                    if c not in tr.columns:
                        raise ConfigError(f"--trace {path!r} is not a trace: it has no column "
                                          f"{c!r} (write one with `ahasd simulate --trace`)")
                traces.append((Path(path).stem, tr))
        else:
            for s in _schedules(args, _PLOT_SCHEDULES):
                res = simulate(config=_config(args, schedule=s), seed=args.seed, n_runs=1,
                               trace=True)
                traces.append((s, res))
        fig = _new_figure((10, 0.8 + 1.55 * len(traces)))
        plots.timelines(dict(traces), t_window_s=args.window, fig=fig)
        return _save(fig, args)
    if what == "breakdown":
        results = {s: estimate(config=_config(args, schedule=s))
                   for s in _schedules(args, _PLOT_SCHEDULES)}
        fig = _new_figure((max(7.0, 2.2 * len(results) + 3), 4.5))
        plots.breakdown(results, kind=args.kind, ax=fig.add_subplot(), per_token=args.per_token)
        return _save(fig, args)
    if what == "roofline":
        fig = _new_figure((7.5, 5.0))
        plots.roofline(hardware=args.hardware, model=args.model, device=args.device,
                       n_positions=args.positions, context=args.context, ax=fig.add_subplot())
        return _save(fig, args)
    if what == "histograms":
        kw = _given(args, ("workload", "alpha", *(o[1] for o in _POLICY_OPTIONS)))
        fig = _new_figure((9, 3.4))
        plots.draft_histograms(args.policy, ax=fig.subplots(1, 2), sample=args.sample, **kw)
        return _save(fig, args)
    df = _read_table(args.data, "--data")
    source = args.data
    for flag, col in (("--x", args.x), ("--y", args.y), ("--value", getattr(args, "value", None)),
                      ("--label", getattr(args, "label", None))):
        _check_column(df, col, flag, source)
    df = _where(df, args.where, source)
    if what == "heatmap":
        fig = _new_figure((7.0, 5.0))
        plots.heatmap(df, args.x, args.y, args.value, ax=fig.add_subplot(), agg=args.agg,
                      log=args.log)
        return _save(fig, args)
    fig = _new_figure((7.0, 5.0))
    plots.pareto_front(df, args.x, args.y, ax=fig.add_subplot(), maximize_x=args.maximize_x,
                       maximize_y=args.maximize_y, label_col=args.label, logx=args.logx,
                       logy=args.logy)
    return _save(fig, args)


def _paragraphs(*texts: str, width: int = 78) -> str:
    """Help text paragraphs wrapped for the raw-description formatter."""
    import textwrap
    return "\n\n".join(textwrap.fill(t, width) for t in texts)


def _add_sweep_parser(sub: Any, fmt: Any) -> None:
    w = sub.add_parser(
        "sweep", help="evaluate a grid of design points into a CSV or Parquet table",
        description="Evaluate every combination of the --axis values (analytically, or by "
                    "simulation with --simulate) around one design point and write one row "
                    "per point: the axis columns, every output (SI units), method and error.",
        epilog=_paragraphs(
            "axis SPEC: lo:hi:n (n evenly spaced values, ends included), lo:hi:n:log "
            "(geometric), lo:hi (every integer), a,b,c (a list) or one value; values in SI "
            "units (bytes/s, ops/s, s, J, W).",
            "Numeric axes: any parameter of `ahasd estimate --set` by its dotted name "
            "(pim.internal_bw = pim.mem_bw_bytes_per_s in bytes/s, pim.matrix_ops_per_s in "
            "ops/s, npu.static_w in W, k and l_max as integers, svip_h, alpha, ...).  "
            "Categorical axes: " + ", ".join(CATEGORICAL_AXES) + " (comma lists of names; "
            "pair as DRAFT:TARGET,...).",
            "Example: ahasd sweep --policy svip --axis pim.internal_bw=64e9:512e9:8 "
            "--axis svip_h=0.2:0.7:6 --axis l_max=1:4 --out results.parquet",
            _OUTPUT_EPILOG),
        formatter_class=fmt)
    _add_design_point(w)
    w.add_argument("--axis", dest="axes", action="append", default=[], metavar="NAME=SPEC",
                   help="a swept parameter and its values (repeatable; see below)")
    w.add_argument("--out", required=True, metavar="FILE.csv|FILE.parquet",
                   help="where to write the table (format from the extension)")
    w.add_argument("--simulate", action="store_true",
                   help="simulate every point (means of --runs runs) instead of estimating")
    w.add_argument("--runs", type=_positive_int, default=DEFAULT_RUNS, metavar="N",
                   help=f"with --simulate: independent generations per point (default "
                        f"{DEFAULT_RUNS})")
    w.add_argument("--seed", type=_positive_int, default=0, metavar="N",
                   help="with --simulate: random seed (default 0)")
    w.add_argument("--outputs", metavar="NAME,...",
                   help="only these output columns (default: every canonical output)")
    w.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    w.set_defaults(func=cmd_sweep)


def _add_plot_parser(sub: Any, fmt: Any) -> None:
    pl = sub.add_parser("plot", help="draw a timeline, heatmap, Pareto front, breakdown, "
                                     "roofline or drafting histograms to an image file",
                        description="Draw one plot to --out (format from the extension: "
                                    "png, pdf, svg, ...).  Run `ahasd plot KIND --help` for "
                                    "each kind's options.", formatter_class=fmt)
    kinds = pl.add_subparsers(dest="plot", metavar="KIND", parser_class=_Parser, required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--out", required=True, metavar="FILE.png",
                       help="image to write (png, pdf, svg, ...)")
        q.add_argument("--dpi", type=_positive_int, default=150, metavar="DPI",
                       help="resolution of raster images, dots per inch (default 150)")
        q.set_defaults(func=cmd_plot)

    t = kinds.add_parser("timeline", help="NPU and PIM activity from simulator traces",
                         description="Simulate each schedule (one run, with its event trace) "
                                     "and draw the devices' activity over time, one panel per "
                                     "schedule: draft, verify, pre-verify, overhead, wasted "
                                     "(flushed or rejected) work, idle gaps.  Or draw saved "
                                     "traces of `ahasd simulate --trace`.", formatter_class=fmt)
    _add_design_point(t, schedule=False)
    t.add_argument("--schedules", type=_names, metavar="S1,S2,...",
                   help="schedules to simulate (default sync,async,ahasd)")
    t.add_argument("--trace", dest="traces", action="append", metavar="FILE.csv",
                   help="draw this saved trace instead of simulating (repeatable)")
    t.add_argument("--window", type=_window, metavar="T|T0:T1",
                   help="time window in s: a length from the start, or T0:T1 (default: 12 "
                        "verifications of every panel)")
    t.add_argument("--seed", type=_positive_int, default=0, metavar="N",
                   help="random seed of the simulations (default 0)")
    common(t)

    h = kinds.add_parser("heatmap", help="one output over two swept columns of a sweep table",
                         description="A heatmap of --value over the columns --x and --y of a "
                                     "table written by `ahasd sweep`; rows sharing a cell are "
                                     "combined with --agg.  Units are those of the columns "
                                     "(SI; see `ahasd sweep --help`).", formatter_class=fmt)
    h.add_argument("--data", required=True, metavar="FILE.csv|FILE.parquet",
                   help="table from `ahasd sweep`")
    h.add_argument("--x", required=True, metavar="COLUMN", help="column along x")
    h.add_argument("--y", required=True, metavar="COLUMN", help="column along y")
    h.add_argument("--value", default="throughput_tok_s", metavar="COLUMN",
                   help="column to colour by (default throughput_tok_s, tokens/s)")
    h.add_argument("--agg", default="mean", choices=("mean", "median", "min", "max"),
                   metavar="FUNC", help="mean, median, min or max over rows of a cell "
                                        "(default mean)")
    h.add_argument("--log", action="store_true", help="logarithmic colour scale")
    h.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="keep only rows where COLUMN equals VALUE (repeatable)")
    common(h)

    pa = kinds.add_parser("pareto", help="the Pareto front of two columns of a sweep table",
                          description="Every row of a table from `ahasd sweep` as a faint "
                                      "point, and the Pareto front of --x and --y highlighted. "
                                      "Whether larger is better follows the name (energy, "
                                      "latency, EDP: smaller) unless --maximize-x / "
                                      "--minimize-x etc. say otherwise.", formatter_class=fmt)
    pa.add_argument("--data", required=True, metavar="FILE.csv|FILE.parquet",
                    help="table from `ahasd sweep`")
    pa.add_argument("--x", default="throughput_tok_s", metavar="COLUMN",
                    help="column along x (default throughput_tok_s, tokens/s)")
    pa.add_argument("--y", default="energy_per_token_j", metavar="COLUMN",
                    help="column along y (default energy_per_token_j, J)")
    for ax_ in ("x", "y"):
        g = pa.add_mutually_exclusive_group()
        g.add_argument(f"--maximize-{ax_}", dest=f"maximize_{ax_}", action="store_true",
                       default=None, help=f"larger {ax_} is better")
        g.add_argument(f"--minimize-{ax_}", dest=f"maximize_{ax_}", action="store_false",
                       help=f"smaller {ax_} is better")
    pa.add_argument("--label", metavar="COLUMN", help="annotate front points with this column")
    pa.add_argument("--logx", action="store_true", help="logarithmic x axis")
    pa.add_argument("--logy", action="store_true", help="logarithmic y axis")
    pa.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                    help="keep only rows where COLUMN equals VALUE (repeatable)")
    common(pa)

    b = kinds.add_parser("breakdown", help="time or energy by device and task/cause",
                         description="Stacked bars of each device's time (s) by task or "
                                     "energy (J) by cause, for several schedules (analytical "
                                     "estimates).", formatter_class=fmt)
    _add_design_point(b, schedule=False)
    b.add_argument("--schedules", type=_names, metavar="S1,S2,...",
                   help="schedules to compare (default sync,async,ahasd)")
    b.add_argument("--kind", choices=("time", "energy"), default="time",
                   help="time (s) by task, or energy (J) by cause (default time)")
    b.add_argument("--per-token", action="store_true",
                   help="divide by committed tokens (s/token, J/token)")
    common(b)

    r = kinds.add_parser("roofline", help="a device's roofline with a forward pass's operators",
                         description="Compute and bandwidth roofs of one device (ops/s, "
                                     "bytes/s) and the operators of one forward pass as points "
                                     "at their arithmetic intensity (ops/byte) and attained "
                                     "ops/s.", formatter_class=fmt)
    r.add_argument("--hardware", metavar="NAME|FILE.toml",
                   help=f"hardware preset or file (default {DEFAULTS['hardware']})")
    r.add_argument("--model", metavar="NAME|FILE.toml",
                   help=f"model preset or file (default {DEFAULTS['target']})")
    r.add_argument("--device", default="npu", choices=("npu", "pim", "gpu", "cpu"),
                   metavar="DEV", help="npu, pim, gpu or cpu (default npu)")
    r.add_argument("--positions", type=_arms, default=(1,), metavar="N1,N2,...",
                   help="new positions per pass, e.g. 1 (a draft token) or 1,5 (and a "
                        "4-draft verification) (default 1)")
    r.add_argument("--context", type=_real, default=1024.0, metavar="TOKENS",
                   help="tokens already in the KV cache (default 1024)")
    common(r)

    hi = kinds.add_parser("histograms", help="draft-length and acceptance distributions",
                          description="The exact distributions P(K = k) of the draft length "
                                      "and P(A = j) of accepted tokens per batch (tokens) of a "
                                      "drafting policy on a workload profile.",
                          formatter_class=fmt)
    hi.add_argument("--policy", choices=POLICY_KINDS, metavar="NAME", default="svip",
                    help=f"drafting policy: {', '.join(POLICY_KINDS)} (default svip)")
    hi.add_argument("--workload", metavar="NAME|FILE.toml",
                    help=f"workload profile (default {DEFAULTS['workload']})")
    hi.add_argument("--alpha", type=_real, metavar="PROB",
                    help="i.i.d. acceptance probability instead of the workload")
    hi.add_argument("--sample", action="store_true",
                    help="overlay 10,000 batches drawn with the simulator's sampler")
    _add_policy_options(hi)
    common(hi)


def cmd_presets(args: argparse.Namespace) -> int:
    if args.show is not None:
        kind = args.kind
        if kind is None:
            owners = [k for k, names in P.list_presets().items()  # type: ignore[union-attr]
                      if args.show in names]
            if not owners:
                all_names = [n for ns in P.list_presets().values() for n in ns]  # type: ignore
                raise ConfigError(f"no preset named {args.show!r}"
                                  f"{P.close_names(args.show, all_names)}; see `ahasd presets`")
            if len(owners) > 1:
                raise ConfigError(f"{args.show!r} is a preset of several kinds "
                                  f"({', '.join(owners)}); give the kind: "
                                  f"ahasd presets {owners[0]} --show {args.show}")
            kind = owners[0]
        print(P.show_preset(kind, args.show))
        return 0
    kinds = [args.kind] if args.kind else list(P.KINDS)
    for kind in kinds:
        names = P.list_presets(kind)
        print(f"{P.KINDS.get(kind, kind)}:")
        if not names:
            print("  (none installed)")
        for n in names:  # type: ignore[union-attr]
            print(f"  {n:<20} {_description(kind, n)}")
    if not args.kind:
        print("schedules:\n  " + ", ".join(SCHEDULES))
        print("policies:\n  " + ", ".join(POLICY_KINDS))
    return 0


def _description(kind: str, name: str) -> str:
    try:
        doc = P.read_toml(P.preset_path(kind, name))
    except ConfigError as exc:
        return f"(invalid: {exc})"
    d = doc.get("description")
    return _one_line(d) if isinstance(d, str) else ""


def _one_line(text: str, width: int = 96) -> str:
    """A description on one line, cut to ``width`` characters for listings."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


# --------------------------------------------------------------------------
# Parser and entry point
# --------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with the package's error format: "ahasd: error: ...", exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def _add_result_format(p: argparse.ArgumentParser) -> None:
    """--json and --verbose: how _print_result prints one result."""
    p.add_argument("--json", action="store_true", help="print JSON with canonical output names")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print time (s) and energy (J) breakdowns")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(prog=PROG, formatter_class=fmt,
                description="Analytical performance and energy model of speculative decoding "
                            "on mobile NPU + PIM hardware (SI units throughout).",
                epilog="Run `ahasd COMMAND --help` for each command's options.")
    from . import __version__
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    e = sub.add_parser("estimate", help="analytical estimate of one design point",
                       description="Analytical estimate (closed form or Markov chain) of one "
                                   "design point; prints every output with its unit.",
                       epilog=_OUTPUT_EPILOG, formatter_class=fmt)
    _add_design_point(e)
    _add_result_format(e)
    e.set_defaults(func=cmd_estimate)

    s = sub.add_parser("simulate", help="discrete-event simulation of one design point",
                       description="Discrete-event Monte Carlo simulation; outputs are means "
                                   "over runs with 95%% confidence half-widths.",
                       epilog=_OUTPUT_EPILOG, formatter_class=fmt)
    _add_design_point(s)
    s.add_argument("--seed", type=_positive_int, default=0, metavar="N",
                   help="random seed (default 0)")
    s.add_argument("--runs", type=_positive_int, default=DEFAULT_RUNS, metavar="N",
                   help=f"independent generations (default {DEFAULT_RUNS})")
    s.add_argument("--trace", metavar="FILE.csv",
                   help="write run 0's events (device, task, start_s, end_s in s, tokens, "
                        "batch, wasted) as CSV")
    _add_result_format(s)
    s.set_defaults(func=cmd_simulate)

    c = sub.add_parser("compare", help="several schedules side by side",
                       description="Analytical estimates of several schedules on one design "
                                   "point: throughput (tokens/s), latency (ms/token), energy "
                                   "(mJ/token), tokens per joule, and speed-up and energy gain "
                                   "relative to autoregressive decoding.",
                       formatter_class=fmt)
    _add_design_point(c, schedule=False)
    c.add_argument("--schedules", type=_names, metavar="S1,S2,...",
                   help=f"schedules to compare (default all: {', '.join(SCHEDULES)})")
    c.add_argument("--json", action="store_true", help="print JSON rows")
    c.set_defaults(func=cmd_compare)

    pr = sub.add_parser("presets", help="list presets or show one with its sources",
                        description="List the installed presets (models, hardware, workloads) "
                                    "or print one, every value with its SI unit and source.",
                        formatter_class=fmt)
    pr.add_argument("kind", nargs="?", choices=list(P.KINDS), metavar="KIND",
                    help="models, hardware or workloads (default: all)")
    pr.add_argument("--show", metavar="NAME", help="print the resolved preset with its sources")
    pr.set_defaults(func=cmd_presets)

    d = sub.add_parser("demo", help="every schedule on the AHASD platform, in one table",
                       description="The default platform (ahasd-npu-pim, llama2-7b drafting for "
                                   "llama2-13b) under every schedule, with the GPU-only "
                                   "(rtx4090-laptop), NPU-only (npu-lpddr5) and SpecPIM-like "
                                   "(specpim-gpu-pim) baselines: throughput (tokens/s), latency "
                                   "(ms/token), energy (mJ/token), speed-up and energy gain vs "
                                   "autoregressive decoding on the NPU.",
                       formatter_class=fmt)
    d.add_argument("--out", default="ahasd-demo", metavar="DIR",
                   help="directory for demo.txt, demo.csv, demo.json (default ./ahasd-demo)")
    for opt, dest, metavar, text in (
            ("--draft", "draft", "NAME", "draft model preset (default llama2-7b)"),
            ("--target", "target", "NAME", "target model preset (default llama2-13b)"),
            ("--workload", "workload", "NAME", "workload profile (default alpaca)")):
        d.add_argument(opt, dest=dest, metavar=metavar, help=text)
    d.add_argument("--policy", choices=POLICY_KINDS, metavar="NAME",
                   help=f"drafting policy: {', '.join(POLICY_KINDS)} (default fixed)")
    d.add_argument("--k", dest="k", type=_positive_int, metavar="TOKENS",
                   help="fixed policy: draft length (default 4)")
    d.add_argument("--alpha", type=_real, metavar="PROB",
                   help="i.i.d. acceptance probability instead of the workload profile")
    d.add_argument("--gen-len", type=_positive_int, metavar="TOKENS",
                   help="tokens generated (default 1024)")
    d.set_defaults(func=cmd_demo, settings=[])
    _add_sweep_parser(sub, fmt)
    _add_plot_parser(sub, fmt)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 other failure)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:         # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except AhasdError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{PROG}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: out of memory (fewer points or fewer --outputs need less)",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
