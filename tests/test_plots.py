"""ahasd.plots and the `ahasd sweep` / `ahasd plot` commands: every plot is rendered to a
PNG with the Agg backend, and its artists are checked against the data they draw."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, QuadMesh  # noqa: E402
from matplotlib.colors import LogNorm, to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import ahasd  # noqa: E402
import ahasd.plots as ap  # noqa: E402
from ahasd.cli import demo_figures, main, parse_axis  # noqa: E402

POINT = ["--hardware", "test-npu-pim", "--draft", "tiny-7b", "--target", "tiny-13b",
         "--workload", "test-chat"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def png(fig, path) -> np.ndarray:
    """Save ``fig`` as PNG, check the file is a real non-blank image, return its pixels."""
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 2000
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert np.ptp(img[..., :3]) > 0.3            # not a blank canvas
    return img


@pytest.fixture(scope="module")
def runs(hw, draft, target, chat):
    """sync, async and ahasd on the test platform, one simulated run each with its trace."""
    return {s: ahasd.simulate(schedule=s, hardware=hw, draft=draft, target=target,
                              workload=chat, gen_len=160, n_runs=1, seed=3, trace=True)
            for s in ("sync", "async", "ahasd")}


@pytest.fixture(scope="module")
def grid(hw, draft, target, chat):
    """A small analytical sweep: k x l_max x contention on the async schedule."""
    return ahasd.sweep(dict(schedule="async", hardware=hw, draft=draft, target=target,
                            workload=chat, gen_len=256), k=[1, 2, 3, 4, 5, 6],
                       l_max=[1, 2, 3], contention=[0.0, 0.3], progress=False)


def same_colour(a, b) -> bool:
    return np.allclose(to_rgba(a), to_rgba(b))


# --------------------------------------------------------------------------
# timeline / timelines
# --------------------------------------------------------------------------
def test_timeline_draws_one_bar_per_event_at_its_time(runs, tmp_path):
    tr = runs["async"].trace
    t0, t1 = 0.25 * tr["end_s"].max(), 0.5 * tr["end_s"].max()
    ax = ap.timeline(tr, t0=t0, t1=t1)
    win = tr[(tr["end_s"] >= t0) & (tr["start_s"] <= t1)]
    assert 10 < len(win) < len(tr)
    assert len(ax.patches) == len(win) == len(ap.trace_window(tr, t0, t1))
    bars = sorted((p.get_x(), p.get_width()) for p in ax.patches)
    want = sorted(zip(win["start_s"], win["end_s"] - win["start_s"]))
    np.testing.assert_allclose(bars, want, rtol=0, atol=1e-12)
    assert ax.get_xlim() == pytest.approx((t0, t1))
    assert [t.get_text().split("\n")[0] for t in ax.get_yticklabels()] == ["NPU", "PIM"]
    assert ax.get_xlabel() == "time (s)"
    png(ax.figure, tmp_path / "timeline.png")


def test_timeline_whole_trace_by_default_and_idle_share(runs):
    res = runs["sync"]
    ax = ap.timeline(res)                          # a Result: its trace, its title
    assert len(ax.patches) == len(res.trace)
    assert "sync" in ax.get_title(loc="left") and "tokens/s" in ax.get_title(loc="left")
    # idle share of the NPU: 1 - verify time / span (sync: one event at a time on the NPU)
    tr = res.trace
    npu = tr[tr["device"] == "npu"]
    span = tr["end_s"].max() - tr["start_s"].min()
    idle = 1 - (npu["end_s"] - npu["start_s"]).sum() / span
    label = ax.get_yticklabels()[0].get_text()
    assert label == f"NPU\nidle {100 * idle:.0f}%"


def test_wasted_work_has_its_own_colour_and_hatch(runs, tmp_path):
    tr = runs["async"].trace
    assert tr["wasted"].any() and (~tr["wasted"]).any()
    ax = ap.timeline(tr)
    wasted = [p for p in ax.patches if same_colour(p.get_facecolor(), ap.WASTED_COLOR)]
    drafts = [p for p in ax.patches if same_colour(p.get_facecolor(), ap.TASK_COLORS["draft"])]
    verifies = [p for p in ax.patches
                if same_colour(p.get_facecolor(), ap.TASK_COLORS["verify"])]
    assert len(wasted) == int(tr["wasted"].sum())
    assert len(drafts) == int(((tr["task"] == "draft") & ~tr["wasted"]).sum())
    assert len(verifies) == int(((tr["task"] == "verify") & ~tr["wasted"]).sum())
    assert all(p.get_hatch() == ap.WASTED_HATCH for p in wasted)
    assert not any(p.get_hatch() for p in drafts)
    colours = {ap.WASTED_COLOR, *ap.TASK_COLORS.values()}
    assert len(colours) == len(ap.TASK_COLORS) + 1          # every category distinct
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "wasted (flushed / rejected)" in labels and "idle" in labels
    png(ax.figure, tmp_path / "wasted.png")


def test_timelines_stack_panels_with_a_shared_window(runs, tmp_path):
    fig = ap.timelines(runs, t_window_s=(0.1, 0.6))
    axes = fig.axes
    assert len(axes) == 3
    assert all(a.get_xlim() == pytest.approx((0.1, 0.6)) for a in axes)
    for a, (label, res) in zip(axes, runs.items()):
        assert a.get_title(loc="left").startswith(label)
        assert len(a.patches) == len(ap.trace_window(res.trace, 0.1, 0.6))
    assert len(fig.legends) == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[0] == "draft" and "idle" in texts
    # the same colour for the same task in every panel
    for a in axes:
        assert all(any(same_colour(p.get_facecolor(), c) for c in
                       [ap.WASTED_COLOR, *ap.TASK_COLORS.values()]) for p in a.patches)
    png(fig, tmp_path / "timelines.png")


def test_timelines_default_window_is_steady_state(runs):
    fig = ap.timelines(list(runs.values()))           # a sequence: labelled by schedule
    t0, t1 = fig.axes[0].get_xlim()
    shortest = min(r.trace["end_s"].max() for r in runs.values())
    assert t0 == pytest.approx(0.5 * shortest)
    for a, res in zip(fig.axes, runs.values()):
        tr = res.trace
        v = tr[(tr["task"] == "verify") & (tr["start_s"] >= t0) & (tr["end_s"] <= t1)]
        assert len(v) >= 12 or tr["end_s"].max() <= t1
    assert [a.get_title(loc="left").split(":")[0] for a in fig.axes] == ["sync", "async",
                                                                          "ahasd"]


def test_timelines_draw_into_a_figure_without_pyplot(runs, tmp_path):
    fig = Figure(figsize=(8, 5))                      # no layout engine, no pyplot
    out = ap.timelines({"a": runs["sync"].trace, "b": runs["ahasd"]}, t_window_s=0.5, fig=fig)
    assert out is fig and len(fig.axes) == 2
    png(fig, tmp_path / "plain.png")


def test_timeline_errors():
    res = ahasd.estimate(schedule="sync", alpha=0.8, k=4)
    with pytest.raises(ahasd.ConfigError, match="trace=True"):
        ap.timeline(res)
    with pytest.raises(ahasd.ConfigError, match="end_s"):
        ap.timeline(pd.DataFrame({"device": ["npu"], "task": ["verify"], "start_s": [0.0]}))
    tr = pd.DataFrame({"device": ["npu"], "task": ["verify"], "start_s": [0.0],
                       "end_s": [1.0], "wasted": [False]})
    with pytest.raises(ahasd.ConfigError, match="t1"):
        ap.timeline(tr, t0=1.0, t1=0.5)


# --------------------------------------------------------------------------
# heatmap and Pareto front
# --------------------------------------------------------------------------
def test_heatmap_grid_matches_the_sweep(grid, tmp_path):
    assert grid["error"].isna().all()
    ax = ap.heatmap(grid, "k", "l_max", "throughput_tok_s")
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(mesh) == 1
    z = np.ma.getdata(mesh[0].get_array()).reshape(3, 6)
    want = grid.groupby(["l_max", "k"])["throughput_tok_s"].mean().unstack().to_numpy()
    np.testing.assert_allclose(z, want, rtol=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4", "5", "6"]
    assert ax.get_xlabel() == "draft length k (tokens)"
    cb = mesh[0].colorbar
    assert cb is not None and cb.ax.get_ylabel().startswith("throughput (tokens/s), mean over")
    assert "contention" in cb.ax.get_ylabel()
    assert len(ax.texts) == 18                        # small grid: every cell annotated
    png(ax.figure, tmp_path / "heatmap.png")


def test_heatmap_max_and_log(grid, tmp_path):
    ax = ap.heatmap(grid, "l_max", "k", "energy_per_token_j", agg="max", log=True)
    mesh = ax.collections[0]
    z = np.ma.getdata(mesh.get_array()).reshape(6, 3)
    want = grid.groupby(["k", "l_max"])["energy_per_token_j"].max().unstack().to_numpy()
    np.testing.assert_allclose(z, want, rtol=1e-12)
    assert isinstance(mesh.norm, LogNorm)
    assert "max over contention" in mesh.colorbar.ax.get_ylabel()
    png(ax.figure, tmp_path / "heatmap_log.png")


def test_heatmap_prefixes_units_of_swept_hardware(tmp_path):
    df = pd.DataFrame({"pim.internal_bw": np.repeat([64e9, 128e9, 256e9], 2),
                       "l_max": [1, 2] * 3, "throughput_tok_s": np.arange(6.0)})
    ax = ap.heatmap(df, "pim.internal_bw", "l_max", "throughput_tok_s")
    assert ax.get_xlabel() == "PIM internal bandwidth (GB/s)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "128", "256"]
    with pytest.raises(ahasd.ConfigError, match="did you mean"):
        ap.heatmap(df, "l_maxx", "pim.internal_bw", "throughput_tok_s")


def test_pareto_front_is_ahasd_pareto(grid, tmp_path):
    x, y = "throughput_tok_s", "energy_per_token_j"
    ax = ap.pareto_front(grid, x, y, label_col="k")
    front = ahasd.pareto(grid, maximize=[x], minimize=[y])
    line = [ln for ln in ax.lines if ln.get_gid() == "pareto-front"]
    assert len(line) == 1
    xs, ys = line[0].get_data()
    assert len(xs) == len(front) >= 1
    np.testing.assert_allclose(sorted(xs), sorted(front[x]))
    assert np.all(np.diff(xs) >= 0)                    # drawn in x order
    cloud = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(cloud) == 1 and len(cloud[0].get_offsets()) == len(grid)
    assert "lower is better" in ax.get_ylabel() and "higher is better" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("energy per token (mJ)")
    distinct = front.drop_duplicates([x, y])
    assert len(ax.texts) == len(distinct.iloc[::-(-len(distinct) // 20)]) <= 20
    png(ax.figure, tmp_path / "pareto.png")


def test_pareto_directions_can_be_overridden(grid):
    x, y = "throughput_tok_s", "energy_per_token_j"
    ax = ap.pareto_front(grid, x, y, maximize_x=False, maximize_y=True)
    front = ahasd.pareto(grid, maximize=[y], minimize=[x])
    xs, _ = [ln for ln in ax.lines if ln.get_gid() == "pareto-front"][0].get_data()
    assert len(xs) == len(front)


def test_pareto_skips_failed_points():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan], "b": [3.0, 2.0, 1.0, 0.0],
                       "error": [None, None, "boom", None]})
    ax = ap.pareto_front(df, "a", "b", maximize_x=True, maximize_y=True)
    xs, _ = [ln for ln in ax.lines if ln.get_gid() == "pareto-front"][0].get_data()
    assert sorted(xs) == [1.0, 2.0]


@pytest.mark.parametrize("seed", range(5))
def test_fallback_pareto_rule_agrees_with_ahasd_pareto(seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.integers(0, 12, 300).astype(float),
                       "b": rng.integers(0, 12, 300).astype(float)})
    mask = ap._pareto_mask(df["a"].to_numpy(), df["b"].to_numpy())
    want = ahasd.pareto(df, maximize=["a", "b"])
    assert sorted(df.index[mask]) == sorted(want.index)


# --------------------------------------------------------------------------
# breakdowns
# --------------------------------------------------------------------------
def _bar_tops(ax) -> dict[float, float]:
    tops: dict[float, float] = {}
    for p in ax.patches:
        cx = round(p.get_x() + p.get_width() / 2, 9)
        tops[cx] = max(tops.get(cx, 0.0), p.get_y() + p.get_height())
    return tops


def test_time_breakdown_bars_stack_to_each_device_wall_time(runs, tmp_path):
    ax = ap.breakdown(runs, kind="time")
    n_bars = sum(len(r.time_breakdown.drop(index="mem", errors="ignore")) for r in runs.values())
    n_seg = len(ax.get_legend().get_texts())
    assert len(ax.patches) == n_bars * n_seg
    tops = sorted(_bar_tops(ax).items())
    want = [r.time_breakdown.drop(index="mem", errors="ignore").sum(axis=1).to_numpy()
            for r in runs.values()]
    np.testing.assert_allclose([t for _, t in tops], np.concatenate(want), rtol=1e-9)
    wasted = [p for p in ax.patches if same_colour(p.get_facecolor(), ap.WASTED_COLOR)]
    assert sum(p.get_height() for p in wasted) == pytest.approx(
        sum(sum(r.wasted_s.values()) for r in runs.values()), rel=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["NPU", "PIM"] * 3
    png(ax.figure, tmp_path / "time.png")


def test_energy_breakdown_per_token_adds_up_to_energy_per_token(hw, draft, target, chat,
                                                                 tmp_path):
    res = {s: ahasd.estimate(schedule=s, hardware=hw, draft=draft, target=target, workload=chat)
           for s in ("sync", "ahasd")}
    ax = ap.breakdown(res, kind="energy", per_token=True)
    tops = sorted(_bar_tops(ax).items())
    i = 0
    for r in res.values():
        n = len(r.energy_breakdown)
        total = sum(t for _, t in tops[i:i + n])
        assert total == pytest.approx(r.energy_per_token_j, rel=1e-6)
        i += n
    assert ax.get_ylabel().endswith("/token)")
    n_seg = len(ax.get_legend().get_texts())
    assert len(ax.patches) == sum(len(r.energy_breakdown) for r in res.values()) * n_seg
    png(ax.figure, tmp_path / "energy.png")
    with pytest.raises(ahasd.ConfigError, match="kind"):
        ap.breakdown(res, kind="power")


# --------------------------------------------------------------------------
# roofline
# --------------------------------------------------------------------------
def test_roofline_has_roofs_and_one_marker_per_operator(hw, target, tmp_path):
    ax = ap.roofline(hardware=hw, model=target, device="npu", n_positions=1, context=256)
    roofs = {ln.get_gid() for ln in ax.lines if (ln.get_gid() or "").startswith("roof:")}
    assert {"roof:memory", "roof:matrix"} <= roofs
    ops = ahasd.pass_ops(hardware=hw, model=target, device="npu", n_positions=1, context=256)
    drawn = ops[(ops["ops"] > 0) & (ops["time_s"] > 0)]
    markers = {ln.get_gid(): ln for ln in ax.lines if (ln.get_gid() or "").startswith("op:")}
    assert len(markers) == len(drawn)
    for _, o in drawn.iterrows():
        _, y = markers[f"op:{o['name']}"].get_data()
        assert y[0] == pytest.approx(o["ops"] / o["time_s"])
    # the memory roof is bandwidth x utilisation: at 1 op/byte it reads that many ops/s
    mem = next(ln for ln in ax.lines if ln.get_gid() == "roof:memory")
    xs, ys = mem.get_data()
    bw = hw.npu.mem_bw_bytes_per_s * hw.npu.mem_bw_util
    i = np.searchsorted(xs, 1e-3 * hw.npu.matrix_ops_per_s / bw)
    assert ys[i] == pytest.approx(xs[i] * bw)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "ops/byte" in ax.get_xlabel() and "ops/s" in ax.get_ylabel()
    png(ax.figure, tmp_path / "roofline.png")


def test_roofline_several_positions_and_pim_without_aau(hw, draft):
    ax = ap.roofline(hardware=hw, model=draft, device="npu", n_positions=[1, 5])
    ops = ahasd.pass_ops(hardware=hw, model=draft, device="npu")
    n = int(((ops["ops"] > 0) & (ops["time_s"] > 0)).sum())
    assert len([ln for ln in ax.lines if (ln.get_gid() or "").startswith("op:")]) == 2 * n
    no_aau = hw.replace(pim={"has_aau": False})
    if no_aau.pim.link_bw_bytes_per_s > 0:
        ax = ap.roofline(hardware=no_aau, model=draft, device="pim")
        assert "roof:link" in {ln.get_gid() for ln in ax.lines}
    with pytest.raises(ahasd.ConfigError, match="gpu"):
        ap.roofline(hardware=hw, model=draft, device="gpu")


# --------------------------------------------------------------------------
# draft-length and acceptance histograms
# --------------------------------------------------------------------------
def test_draft_histograms_are_the_exact_laws(chat, tmp_path):
    axk, axa = ap.draft_histograms("svip", workload=chat, svip_h=0.5, sample=True)
    dist = ahasd.draft_distribution(policy="svip", workload=chat, svip_h=0.5)
    hk = np.array([p.get_height() for p in axk.patches])
    ha = np.array([p.get_height() for p in axa.patches])
    assert len(hk) == len(ha) == dist.k_max + 1
    assert hk.sum() == pytest.approx(1.0, abs=1e-9) and ha.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(hk, dist.p_k)
    np.testing.assert_allclose(ha, dist.p_a)
    sample = [ln for ln in axk.lines if ln.get_gid() == "sample"]
    assert len(sample) == 1 and sum(sample[0].get_ydata()) == pytest.approx(1.0)
    # the sampler agrees with the exact law (10,000 batches)
    assert np.abs(sample[0].get_ydata() - dist.p_k).max() < 0.03
    means = [ln for ln in axk.lines if ln.get_linestyle() == "--"]
    assert means[0].get_xdata()[0] == pytest.approx(dist.mean_draft_len)
    png(axk.figure, tmp_path / "hist.png")


def test_draft_histograms_on_one_axes_and_from_a_distribution(tmp_path):
    dist = ahasd.draft_distribution(policy="fixed", k=5, alpha=0.7)
    fig, ax = plt.subplots()
    axk, axa = ap.draft_histograms(dist, ax=ax)
    assert axk is axa is ax
    assert len(ax.patches) == 2 * (dist.k_max + 1)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == pytest.approx(2.0)
    assert heights[5] == pytest.approx(1.0)           # fixed k = 5: P(K = 5) = 1
    png(fig, tmp_path / "one.png")
    with pytest.raises(ahasd.ConfigError, match="not allowed with a DraftDistribution"):
        ap.draft_histograms(dist, svip_h=0.3)


def test_axis_labels_carry_units():
    assert ap.axis_label("throughput_tok_s") == "throughput (tokens/s)"
    assert ap.axis_label("energy_per_token_j") == "energy per token (J)"
    assert ap.axis_label("pim.internal_bw") == "PIM internal bandwidth (B/s)"
    assert ap.axis_label("npu_idle_s") == "NPU idle time (s)"
    assert ap.axis_label("npu.static_w") == "NPU static_w (W)"
    assert ap.axis_label("acceptance_rate") == "acceptance rate"


# --------------------------------------------------------------------------
# command line: sweep, plot, simulate --trace, demo figures
# --------------------------------------------------------------------------
def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,name,values", [
    ("pim.internal_bw=64e9:512e9:8", "pim.internal_bw", list(np.linspace(64e9, 512e9, 8))),
    ("k=1:16", "k", list(range(1, 17))),
    ("k=2,4,8", "k", [2, 4, 8]),
    ("l_max=1:4:4", "l_max", [1, 2, 3, 4]),
    ("svip_h=0.5", "svip_h", [0.5]),
    ("alpha=0.1:0.9:3:log", "alpha", [0.1, 0.3, 0.9]),
    ("schedule=sync,async", "schedule", ["sync", "async"]),
    ("draft=tiny-7b", "draft", ["tiny-7b"]),
])
def test_parse_axis(text, name, values):
    n, v = parse_axis(text)
    assert n == name
    assert v == pytest.approx(values) if name not in ("schedule", "draft") else v == values
    if name in ("k", "l_max"):
        assert all(isinstance(x, int) for x in v)


@pytest.mark.parametrize("text,words", [
    ("k=1:16:3", ["--axis 'k=1:16:3'", "integer parameter", "8.5"]),
    ("pim.internal_bww=1:2:3", ["--axis", "unknown parameter 'pim.internal_bww'",
                                "did you mean"]),
    ("svip_h=0.2:1.0", ["--axis 'svip_h=0.2:1.0'", "svip_h=0.2:1.0:N"]),
    ("k", ["--axis 'k'", "NAME=SPEC"]),
    ("k=a:b:c", ["--axis 'k=a:b:c'", "not lo:hi:n"]),
    ("alpha=0:1:3:log", ["log axis needs lo > 0"]),
    ("schedule=fast", ["--axis schedule = 'fast' is not allowed", "async-edc"]),
])
def test_parse_axis_errors_name_the_flag(text, words):
    with pytest.raises(ahasd.ConfigError) as e:
        parse_axis(text)
    for w in words:
        assert w in str(e.value)


def test_cli_sweep_writes_csv_and_parquet(test_presets, capsys, tmp_path):
    out = tmp_path / "r.csv"
    code, text, err = run(capsys, "sweep", *POINT, "--schedule", "async", "--axis", "k=1:4",
                          "--axis", "l_max=1,2", "--out", out)
    assert code == 0, err
    df = pd.read_csv(out)
    assert len(df) == 8 and list(df.columns[:2]) == ["k", "l_max"]
    assert {"throughput_tok_s", "energy_per_token_j", "method", "error"} <= set(df.columns)
    assert df["error"].isna().all()
    assert "8 design points estimated" in text and "highest throughput" in text
    assert "k = " in text and "l_max = " in text
    best = df.loc[df["throughput_tok_s"].idxmax()]
    direct = ahasd.estimate(schedule="async", hardware="test-npu-pim", draft="tiny-7b",
                            target="tiny-13b", workload="test-chat", k=int(best["k"]),
                            l_max=int(best["l_max"]))
    assert best["throughput_tok_s"] == pytest.approx(direct.throughput_tok_s, rel=1e-12)
    pq = tmp_path / "r.parquet"
    code, _, err = run(capsys, "sweep", *POINT, "--schedule", "sync", "--axis",
                       "pim.internal_bw=64e9:256e9:3", "--outputs", "throughput_tok_s",
                       "--out", pq, "-q")
    assert code == 0, err
    df = pd.read_parquet(pq)
    assert df["pim.internal_bw"].tolist() == [64e9, 160e9, 256e9]
    assert "energy_per_token_j" not in df.columns and "throughput_tok_s" in df.columns


def test_cli_sweep_simulates(test_presets, capsys, tmp_path):
    out = tmp_path / "s.csv"
    code, text, err = run(capsys, "sweep", *POINT, "--schedule", "async", "--gen-len", "64",
                          "--axis", "l_max=1:2", "--simulate", "--runs", "2", "--out", out)
    assert code == 0, err
    df = pd.read_csv(out)
    assert (df["method"] == "simulation").all() and "simulated" in text


@pytest.mark.parametrize("argv,words", [
    (["--axis", "k=1:3", "--out", "r.txt"], ["--out 'r.txt'", ".csv, .parquet"]),
    (["--axis", "k=1:3", "--out", "no/such/dir/r.csv"], ["--out 'no/such/dir/r.csv'",
                                                         "does not exist"]),
    (["--out", "r.csv"], ["at least one --axis"]),
    (["--k", "3", "--axis", "k=1:3", "--out", "r.csv"], ["--axis k=...", "--k"]),
    (["--axis", "k=1:3", "--axis", "k=4:5", "--out", "r.csv"], ["k is swept twice"]),
    (["--axis", "k=1:3", "--outputs", "speed", "--out", "r.csv"], ["--outputs", "speed"]),
    (["--axis", "svip_h=0.2:0.6:3", "--out", "r.csv"], ["--axis svip_h=...",
                                                         "add --policy svip"]),
    (["--axis", "pair=tiny-7b", "--out", "r.csv"], ["'tiny-7b' is not DRAFT:TARGET"]),
])
def test_cli_sweep_errors(test_presets, capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "sweep", *POINT, *argv)
    assert code == 2
    assert err.startswith("ahasd: error: ") and "Traceback" not in err
    for w in words:
        assert w in err


@pytest.fixture
def sweep_csv(test_presets, capsys, tmp_path):
    out = tmp_path / "grid.csv"
    code, _, err = run(capsys, "sweep", *POINT, "--schedule", "async", "--axis", "k=1:5",
                       "--axis", "l_max=1:3", "--axis", "contention=0,0.5", "--out", out, "-q")
    assert code == 0, err
    return out


def test_cli_plot_heatmap_and_pareto(sweep_csv, capsys, tmp_path):
    img = tmp_path / "heat.png"
    code, out, err = run(capsys, "plot", "heatmap", "--data", sweep_csv, "--x", "k", "--y",
                         "l_max", "--value", "energy_per_token_j", "--where", "contention=0.5",
                         "--out", img)
    assert code == 0, err
    assert mpimg.imread(img).shape[0] > 100 and f"wrote {img}" in out
    pdf = tmp_path / "front.pdf"
    code, _, err = run(capsys, "plot", "pareto", "--data", sweep_csv, "--label", "k",
                       "--out", pdf)
    assert code == 0, err
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("argv,words", [
    (["heatmap", "--x", "kk", "--y", "l_max"], ["--x 'kk' is not a column", "did you mean"]),
    (["heatmap", "--x", "k", "--y", "l_max", "--value", "speed"], ["--value 'speed'"]),
    (["heatmap", "--x", "k", "--y", "l_max", "--where", "contention=7"],
     ["--where 'contention=7'", "no row"]),
    (["pareto", "--y", "nope"], ["--y 'nope'"]),
])
def test_cli_plot_column_errors(sweep_csv, capsys, tmp_path, argv, words):
    code, out, err = run(capsys, "plot", argv[0], "--data", sweep_csv, *argv[1:],
                         "--out", tmp_path / "x.png")
    assert code == 2 and err.startswith("ahasd: error: ") and "Traceback" not in err
    for w in words:
        assert w in err
    assert not (tmp_path / "x.png").exists()


def test_cli_plot_file_errors(capsys, tmp_path):
    code, _, err = run(capsys, "plot", "heatmap", "--data", tmp_path / "none.csv", "--x", "k",
                       "--y", "l_max", "--out", tmp_path / "x.png")
    assert code == 2 and "--data" in err and "no such file" in err
    code, _, err = run(capsys, "plot", "roofline", "--out", tmp_path / "x.bmpx")
    assert code == 2 and "--out" in err and "x.bmpx" in err and "png" in err


def test_cli_plot_timeline_from_simulations_and_saved_traces(test_presets, capsys, tmp_path):
    img = tmp_path / "tl.png"
    code, out, err = run(capsys, "plot", "timeline", *POINT, "--gen-len", "96", "--window",
                         "0:0.5", "--out", img)
    assert code == 0, err
    assert mpimg.imread(img).shape[1] > 500
    traces = []
    for s in ("sync", "ahasd"):
        tr = tmp_path / f"{s}.csv"
        code, _, err = run(capsys, "simulate", *POINT, "--schedule", s, "--gen-len", "96",
                           "--runs", "1", "--trace", tr)
        assert code == 0, err
        traces += ["--trace", tr]
    img2 = tmp_path / "saved.png"
    code, _, err = run(capsys, "plot", "timeline", *traces, "--out", img2)
    assert code == 0, err
    assert mpimg.imread(img2).shape[0] > 100
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    code, _, err = run(capsys, "plot", "timeline", "--trace", bad, "--out", img2)
    assert code == 2 and "--trace" in err and "not a trace" in err
    code, _, err = run(capsys, "plot", "timeline", "--window", "soon", "--out", img2)
    assert code == 2 and "--window" in err and "'soon'" in err


def test_cli_plot_breakdown_roofline_histograms(test_presets, capsys, tmp_path):
    for argv in (["breakdown", *POINT, "--kind", "energy", "--per-token"],
                 ["roofline", "--hardware", "test-npu-pim", "--model", "tiny-13b",
                  "--positions", "1,5", "--device", "pim"],
                 ["histograms", "--policy", "adaedl", "--workload", "test-chat", "--sample"]):
        img = tmp_path / f"{argv[0]}.png"
        code, _, err = run(capsys, "plot", *argv, "--out", img)
        assert code == 0, err
        assert mpimg.imread(img).ndim == 3


@pytest.mark.parametrize("argv,words", [
    (["sweep"], ["bytes/s", "ops/s", "lo:hi:n", "pim.internal_bw"]),
    (["plot", "timeline"], ["in s", "T0:T1"]),
    (["plot", "heatmap"], ["tokens/s", "SI"]),
    (["plot", "pareto"], ["tokens/s", "energy_per_token_j, J"]),
    (["plot", "roofline"], ["ops/byte", "bytes/s"]),
    (["plot", "breakdown"], ["(s)", "(J)"]),
    (["plot", "histograms"], ["tokens", "nats"]),
])
def test_help_shows_units(capsys, argv, words):
    code = main([*argv, "--help"])
    out = capsys.readouterr().out
    assert code == 0
    text = " ".join(out.split())
    for w in words:
        assert w in text


def test_demo_figures_write_a_timeline_of_sync_async_ahasd(hw, draft, target, chat, tmp_path):
    from ahasd.cli import DEMO_TIMELINE
    results = {label: ahasd.estimate(schedule=panel, hardware=hw, draft=draft, target=target,
                                     workload=chat, gen_len=128)
               for panel, label in DEMO_TIMELINE}
    files = demo_figures(tmp_path, results)
    names = [f.name for f in files]
    assert names == ["timeline_sync_async_ahasd.png", "breakdown_sync_async_ahasd.png"]
    for f in files:
        img = mpimg.imread(f)
        assert img.shape[0] > 300 and np.ptp(img[..., :3]) > 0.3
    assert demo_figures(tmp_path / "none", {}) == []


def test_cli_sweep_reports_points_that_cannot_run(test_presets, capsys, tmp_path):
    out = tmp_path / "e.csv"
    code, text, err = run(capsys, "sweep", *POINT, "--schedule", "async", "--axis",
                          "l_max=0:3", "--out", out)
    assert code == 0 and "Warning" not in err
    df = pd.read_csv(out)
    assert df["error"].notna().tolist() == [True, False, False, False]
    assert "l_max" in df["error"].iloc[0]
    assert "1 could not run (see the error column)" in text
