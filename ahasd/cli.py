"""The ``ahasd`` command line (also ``python -m ahasd``).

    ahasd estimate  [design point] [--json]
    ahasd simulate  [design point] [--seed N] [--runs N] [--trace FILE.csv] [--json]
    ahasd compare   [design point] [--schedules a,b,...] [--json]
    ahasd presets   [KIND] [--show NAME]
    ahasd demo      [--out DIR]

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

__all__ = ["main", "build_parser", "demo_figures"]

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
    pg = p.add_argument_group("policy parameters (entropy H in nats)")
    for opt, dest, typ, metavar, text in _POLICY_OPTIONS:
        pg.add_argument(opt, dest=dest, type=typ, metavar=metavar, help=text)
    g.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                   metavar="NAME=VALUE",
                   help="any parameter by its dotted name, in SI units; repeatable. "
                        "E.g. pim.mem_bw_bytes_per_s=5.12e11 (bytes/s), pim.has_aau=false, "
                        "npu.static_w=0.5 (W), contention=0.2, sync_s=2e-6 (s), "
                        "target.weight_bytes=0.5 (bytes per weight), workload.position_decay=0.98")


_DESIGN_DESTS = ("schedule", "hardware", "draft", "target", "policy", "alpha", "workload",
                 "prompt_len", "gen_len", "l_max", "m_max", "k_design", "segments",
                 "tvc_predictor", *(o[1] for o in _POLICY_OPTIONS))


def _design_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw = {d: getattr(args, d) for d in _DESIGN_DESTS
          if getattr(args, d, None) is not None}
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
def cmd_estimate(args: argparse.Namespace) -> int:
    res = estimate(config=_config(args))
    if args.json:
        _print_json(result_json(res))
    else:
        print(res.summary() if args.verbose else res)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    res = simulate(config=_config(args), seed=args.seed, n_runs=args.runs,
                   trace=args.trace is not None)
    if args.trace is not None:
        res.trace.to_csv(args.trace, index=False)
    if args.json:
        _print_json(result_json(res))
    else:
        print(res.summary() if args.verbose else res)
        if args.trace is not None:
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


def cmd_compare(args: argparse.Namespace) -> int:
    schedules = args.schedules or list(SCHEDULES)
    for s in schedules:
        P.as_choice(s, "--schedules", SCHEDULES)
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


def demo_figures(out_dir: Path, results: dict[str, Result]) -> list[Path]:
    """Hook for the demo's figures (the timeline plot of the AHASD schedule).

    The plots module (ahasd.plots, written separately) will draw here from
    ``results`` and a simulated trace; until it exists the demo writes no
    figure and says so.  Returns the files written.
    """
    return []


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
        print("figures: none yet (the timeline plot arrives with the plots module)")
    return 0


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
    e.add_argument("--json", action="store_true", help="print JSON with canonical output names")
    e.add_argument("-v", "--verbose", action="store_true",
                   help="also print time (s) and energy (J) breakdowns")
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
    s.add_argument("--json", action="store_true", help="print JSON with canonical output names")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="also print time (s) and energy (J) breakdowns")
    s.set_defaults(func=cmd_simulate)

    c = sub.add_parser("compare", help="several schedules side by side",
                       description="Analytical estimates of several schedules on one design "
                                   "point: throughput (tokens/s), latency (ms/token), energy "
                                   "(mJ/token), tokens per joule, and speed-up and energy gain "
                                   "relative to autoregressive decoding.",
                       formatter_class=fmt)
    _add_design_point(c, schedule=False)
    c.add_argument("--schedules", type=lambda t: [x.strip() for x in t.split(",") if x.strip()],
                   metavar="S1,S2,...",
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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
