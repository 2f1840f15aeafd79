"""The `ahasd` command line: output, JSON, errors (exit 2, no traceback), help text."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from ahasd.cli import DEMO_POINTS, main
from ahasd.config import SCHEDULES
from ahasd.result import OUTPUTS

POINT = ["--hardware", "test-npu-pim", "--draft", "tiny-7b", "--target", "tiny-13b",
         "--workload", "test-chat"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_prints_a_table_with_units(test_presets, capsys):
    code, out, err = run(capsys, "estimate", *POINT, "--schedule", "sync", "--k", "5")
    assert code == 0 and err == ""
    assert out.startswith("sync | test-npu-pim | tiny-7b -> tiny-13b | fixed(k=5) | test-chat")
    assert "throughput_tok_s" in out and "tok/s" in out and "energy_per_token_j" in out


def test_estimate_json_has_canonical_names(test_presets, capsys):
    code, out, _ = run(capsys, "estimate", *POINT[:6], "--alpha", "0.8", "--policy", "svip",
                       "--svip-h", "0.5", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(OUTPUTS) <= set(data)
    assert data["method"] == "markov-chain"
    assert data["config"]["policy"].startswith("svip(svip_h=0.5")
    assert data["config"]["workload"] == "iid-0.8"
    assert data["gap_p50_s"] is None                 # NaN becomes null: strict JSON


def test_set_changes_any_parameter(test_presets, capsys):
    base = json.loads(run(capsys, "estimate", *POINT, "--schedule", "sync", "--json")[1])
    code, out, _ = run(capsys, "estimate", *POINT, "--schedule", "sync", "--json",
                       "--set", "npu.offchip_bw_bytes_per_s=102.4e9", "--set", "pim.has_aau=false")
    assert code == 0
    assert json.loads(out)["throughput_tok_s"] > 1.3 * base["throughput_tok_s"]


@pytest.mark.parametrize("argv,words", [
    (["estimate", "--hardware", "no-such-hw"], ["unknown hardware preset 'no-such-hw'",
                                                "test-gpu, test-npu-pim"]),
    (["estimate", *POINT, "--k", "0"], ["k = 0"]),
    (["estimate", *POINT, "--svip-h", "0.3"], ["svip_h is a parameter of policy 'svip'"]),
    (["estimate", *POINT, "--set", "pim.mem_bw=1e9"], ["pim.mem_bw", "did you mean"]),
    (["estimate", *POINT, "--set", "nonsense"], ["NAME=VALUE"]),
    (["estimate", *POINT, "--k", "four"], ["--k", "'four' is not an integer"]),
    (["estimate", *POINT, "--schedule", "fast"], ["--schedule", "invalid choice"]),
    (["simulate", "--hardware", "test-gpu", "--draft", "tiny-7b", "--target", "tiny-13b",
      "--workload", "test-chat", "--schedule", "sync"], ["needs two devices"]),
    (["simulate", *POINT, "--runs", "0"], ["n_runs"]),
    (["presets", "--show", "nothing-like-this"], ["no preset named 'nothing-like-this'"]),
    (["compare", *POINT, "--schedules", "sync,turbo"], ["turbo"]),
])
def test_bad_input_exits_2_with_one_line(test_presets, capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("ahasd: error: ") and "Traceback" not in err
    for w in words:
        assert w in err, err


def test_alpha_and_workload_together_are_refused(test_presets, capsys):
    code, _, err = run(capsys, "estimate", *POINT, "--alpha", "0.8")
    assert code == 2 and "either alpha" in err


def test_argparse_errors_use_the_same_format(test_presets, capsys):
    code, _, err = run(capsys, "estimate", "--k", "four")
    assert code == 2
    assert err.startswith("ahasd: error: argument --k") and "see `ahasd estimate --help`" in err


def test_simulate_writes_a_trace_csv(test_presets, capsys, tmp_path):
    path = tmp_path / "trace.csv"
    code, out, _ = run(capsys, "simulate", *POINT, "--runs", "2", "--seed", "3",
                       "--trace", str(path))
    assert code == 0 and "[simulation, 2 runs, 95% CI]" in out and "+-" in out
    df = pd.read_csv(path)
    assert list(df.columns) == ["device", "task", "start_s", "end_s", "tokens", "batch", "wasted"]
    assert len(df) > 100 and set(df.device) <= {"npu", "pim"}


def test_trace_to_an_unwritable_path_is_a_clean_error(test_presets, capsys, tmp_path):
    code, _, err = run(capsys, "simulate", *POINT, "--runs", "1",
                       "--trace", str(tmp_path / "no" / "such" / "dir" / "t.csv"))
    assert code == 2 and err.startswith("ahasd: error: ") and "Traceback" not in err


def test_compare_every_schedule(test_presets, capsys):
    code, out, _ = run(capsys, "compare", *POINT)
    assert code == 0
    for s in SCHEDULES:
        assert f"\n{s} " in out
    assert "1.00x" in out                    # autoregressive against itself
    code, out, _ = run(capsys, "compare", *POINT, "--json", "--schedules", "sync,ahasd")
    rows = json.loads(out)
    assert [r["label"] for r in rows] == ["autoregressive", "sync", "ahasd"]
    assert rows[0]["speedup_vs_ar"] == 1.0
    assert rows[2]["speedup_vs_ar"] == pytest.approx(
        rows[2]["throughput_tok_s"] / rows[0]["throughput_tok_s"])


def test_compare_reports_schedules_that_cannot_run(test_presets, capsys):
    code, out, _ = run(capsys, "compare", "--hardware", "test-gpu", "--draft", "tiny-7b",
                       "--target", "tiny-13b", "--workload", "test-chat",
                       "--schedules", "serial,sync")
    assert code == 0
    assert "sync" in out and "n/a: schedule 'sync' needs two devices" in out


def test_presets_listing_and_show(test_presets, capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    assert "tiny-7b" in out and "test-npu-pim" in out and "test-chat" in out
    assert "fixed, svip, adaedl, specdecpp, banditspec" in out
    code, out, _ = run(capsys, "presets", "hardware", "--show", "test-npu-pim")
    assert code == 0 and "51.2 GB/s" in out and "source: AHASD Table 2" in out
    code, out, _ = run(capsys, "presets", "--show", "tiny-13b")     # kind found by name
    assert code == 0 and "model tiny-13b" in out


@pytest.mark.parametrize("command,units", [
    ("estimate", ["TOKENS", "bytes/s", "(W)", "(s)", "in [0, 1]", "_tok_s tokens/s"]),
    ("simulate", ["TOKENS", "start_s, end_s in s", "95%"]),
    ("compare", ["tokens/s", "ms/token", "mJ/token"]),
    ("demo", ["tokens/s", "ms/token", "mJ/token"]),
    ("presets", ["SI unit"]),
])
def test_help_shows_units(capsys, command, units):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    out = " ".join(out.split())       # argparse wraps lines
    for u in units:
        assert u in out, (command, u)


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "ahasd", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("ahasd ")
    proc = subprocess.run([sys.executable, "-m", "ahasd", "estimate", "--hardware", "nope"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ahasd: error: ") and "Traceback" not in proc.stderr


def test_demo_compares_every_schedule_on_the_default_platform(capsys, tmp_path):
    # Uses the user presets in data/ (ahasd-npu-pim, rtx4090-laptop, npu-lpddr5,
    # specpim-gpu-pim, llama2-7b, llama2-13b, alpaca).
    code, out, err = run(capsys, "demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    for label, _, _ in DEMO_POINTS:
        assert label in out
    assert "n/a" not in out
    rows = json.loads((tmp_path / "demo" / "demo.json").read_text())
    assert [r["label"] for r in rows] == [p[0] for p in DEMO_POINTS]
    assert rows[0]["speedup_vs_ar"] == 1.0
    assert {r["hardware"] for r in rows} == {"ahasd-npu-pim", "rtx4090-laptop", "npu-lpddr5",
                                             "specpim-gpu-pim"}
    assert (tmp_path / "demo" / "demo.csv").exists()
    assert "figures:" in out           # the hook for the plots module reports what it drew
