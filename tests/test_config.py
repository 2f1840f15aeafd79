"""The dataclasses (Model, Device, Hardware, Workload, Policy, TaskCosts, Config):
validation, replace(), and marshalling into the C structs."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import ahasd
from ahasd._native import call, ffi, lib
from ahasd.config import SCHEDULES
from ahasd.errors import ConfigError, ScheduleError
from ahasd.policy import POLICY_KINDS


def _check_replace_refused(obj, changes, words):
    """obj.replace(**changes) raises a ConfigError containing every one of words."""
    with pytest.raises(ConfigError) as exc:
        obj.replace(**changes)
    for w in words:
        assert w in str(exc.value), str(exc.value)


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------
def test_llama2_7b_shape_has_its_published_parameter_count(draft, target):
    # LLaMA 2 7B and 13B: 6.74 B and 13.02 B parameters (model cards).
    assert draft.params == pytest.approx(6.74e9, rel=0.01)
    assert target.params == pytest.approx(13.02e9, rel=0.01)
    assert target.weight_total_bytes == pytest.approx(target.params * 1.0)   # INT8


def test_with_precision_changes_bytes_per_element(draft):
    int4 = draft.with_precision("int4")
    assert (int4.weight_bytes, int4.kv_bytes, int4.act_bytes) == (0.5, 0.5, 0.5)
    assert int4.weight_total_bytes == pytest.approx(draft.weight_total_bytes / 2)
    assert int4.name == "tiny-7b-int4"
    w4a16 = draft.with_precision("int4", kv="fp16", act="fp16")
    assert (w4a16.weight_bytes, w4a16.kv_bytes, w4a16.act_bytes) == (0.5, 2.0, 2.0)
    assert w4a16.with_precision("fp16").name == "tiny-7b-fp16"
    with pytest.raises(ConfigError, match=r"precision = 'int3'.*int4, fp4, int8"):
        draft.with_precision("int3")


@pytest.mark.parametrize("changes,words", [
    ({"layers": 0}, ["layers = 0", "[1,"]),               # C range check
    ({"layers": "32"}, ["Model.layers", "'32'", "integer"]),
    ({"layers": 32.5}, ["Model.layers", "integer"]),
    ({"kv_heads": 5}, ["kv_heads = 5", "divide"]),          # C structural check
    ({"ffn_kind": "moe"}, ["ffn_kind", "plain, gated"]),
    ({"weight_bytes": float("nan")}, ["weight_bytes", "finite"]),
    ({"tied_embeddings": 2}, ["tied_embeddings", "true or false"]),
    ({"hiden": 10}, ["no field 'hiden'", "did you mean 'hidden'"]),
])
def test_model_replace_validates(draft, changes, words):
    _check_replace_refused(draft, changes, words)


def test_model_defaults_and_enum_indices():
    m = ahasd.Model(layers=2, hidden=64, heads=4, ffn=128, vocab=100, ffn_kind=0, act_kind=1)
    assert m.kv_heads == 4                                  # None -> heads
    assert (m.ffn_kind, m.act_kind) == ("plain", "gelu")     # C enum indices accepted
    c = ffi.new("ahasd_model *")
    m.to_c(c)
    assert (c.ffn_kind, c.act_kind, c.norm_kind) == (lib.AHASD_FFN_PLAIN, lib.AHASD_ACT_GELU,
                                                      lib.AHASD_NORM_RMSNORM)


def test_replace_marks_user_changes_in_sources(draft):
    m = draft.replace(layers=16)
    assert m.sources["layers"] == "user: replaced"
    assert m.sources["hidden"] == draft.sources["hidden"]
    assert "user: replaced" in m.describe()
    assert m != draft and m.replace(layers=32) == draft          # sources do not count


# --------------------------------------------------------------------------
# Device and Hardware
# --------------------------------------------------------------------------
def test_hardware_dotted_replace_and_aliases(hw):
    a = hw.replace(**{"pim.mem_bw_bytes_per_s": 5e11})
    b = hw.replace(**{"pim.internal_bw": 5e11})
    c = hw.replace(**{"pim.internal_bw_bytes_per_s": 5e11})
    assert a == b == c and a.pim.mem_bw_bytes_per_s == 5e11
    assert a.npu == hw.npu                                   # the other device is untouched
    d = hw.replace(**{"npu.offchip_bw_bytes_per_s": 68.3e9})
    assert d.npu.mem_bw_bytes_per_s == 68.3e9
    assert d.get("npu.offchip_bw_bytes_per_s") == 68.3e9
    assert a.pim.sources["mem_bw_bytes_per_s"] == "user: replaced"
    # the cached C struct follows
    assert a.cstruct().dev[lib.AHASD_DEV_PIM].mem_bw_bytes_per_s == 5e11


def test_hardware_replace_device_by_dict_and_platform_field(hw):
    h = hw.replace(pim={"has_aau": False, "roundtrip_s": 2e-6}, contention=0.25)
    assert h.pim.has_aau is False and h.pim.roundtrip_s == 2e-6
    assert h.contention == 0.25 and h.sources["contention"] == "user: replaced"
    assert h.cstruct().dev[lib.AHASD_DEV_PIM].has_aau == 0
    assert h.cstruct().contention == 0.25


@pytest.mark.parametrize("changes,exc_words", [
    ({"pim": None}, ["draft_dev", "absent"]),                           # C: role device absent
    ({"npu.switch_s": 1e-6}, ["npu.switch_s", "only the PIM"]),
    ({"pim.mem_bw": 1e9}, ["pim.mem_bw", "did you mean"]),
    ({"dsp.static_w": 1.0}, ["no device 'dsp'"]),
    ({"contention": -0.5}, ["contention = -0.5"]),
    ({"verify_dev": "tpu"}, ["verify_dev", "npu, pim, gpu, cpu"]),
    ({"gpu.static_w": 1.0}, ["has no gpu"]),
    ({"pim": {"has_aau": False, "link_bw_bytes_per_s": 0.0}}, ["link_bw_bytes_per_s", "has_aau"]),
])
def test_hardware_replace_errors(hw, changes, exc_words):
    _check_replace_refused(hw, changes, exc_words)


def test_device_checks_without_c():
    with pytest.raises(ConfigError, match=r"Device.mem_bw_util = 1.5.*fraction"):
        ahasd.Device(matrix_ops_per_s=1e12, vector_ops_per_s=1e11, mem_bw_bytes_per_s=1e10,
                     mem_bw_util=1.5)
    with pytest.raises(ConfigError, match=r"Device.static_w = -1.0.*>= 0"):
        ahasd.Device(matrix_ops_per_s=1e12, vector_ops_per_s=1e11, mem_bw_bytes_per_s=1e10,
                     static_w=-1)


def test_hardware_to_c_marks_present_devices(hw):
    c = hw.cstruct()
    assert [c.dev[i].present for i in range(4)] == [1, 1, 0, 0]
    assert c.draft_dev == lib.AHASD_DEV_PIM and c.verify_dev == lib.AHASD_DEV_NPU
    assert c.dev[lib.AHASD_DEV_NPU].onchip_bytes == 8e6
    assert c.dev[lib.AHASD_DEV_PIM].aau_ops_per_s == 2.5e9


# --------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------
def test_iid_profile_comes_from_c():
    w = ahasd.Workload.iid(0.8)
    assert w.buckets == 1 and w.accept == (0.8,) and w.q == ((1.0,),)
    assert w.name == "iid-0.8"
    assert ahasd.Workload.iid(0.8) is w                       # immutable, shared
    with pytest.raises(ConfigError, match=r"alpha"):
        ahasd.Workload.iid(1.5)


def test_workload_accepts_numpy_and_checks_shapes(chat):
    w = ahasd.Workload(buckets=2, h_max=4.0, q=np.array([[0.5, 0.5], [0.2, 0.8]]),
                       accept=np.array([0.9, 0.3]))
    assert w.q == ((0.5, 0.5), (0.2, 0.8)) and w.init == (0.0, 0.0)
    assert isinstance(w.q_array, np.ndarray) and w.q_array.shape == (2, 2)
    assert w.entropy.tolist() == [1.0, 3.0]                  # (b + 1/2) h_max / B
    with pytest.raises(ConfigError, match=r"Workload.q has 1 rows"):
        ahasd.Workload(buckets=2, h_max=4.0, q=[[1.0, 0.0]], accept=[0.9, 0.3])
    with pytest.raises(ConfigError, match=r"Workload.accept has 3 elements: must have 2"):
        chat.replace(accept=[0.9, 0.4, 0.1])
    with pytest.raises(ConfigError, match=r"buckets = 17"):
        ahasd.Workload(buckets=17, h_max=1.0, q=[[1.0]], accept=[0.5])


def test_workload_c_struct_layout(chat):
    c = chat.cstruct()
    mb = lib.AHASD_MAX_BUCKETS
    assert c.buckets == 2
    assert [c.q[0], c.q[1], c.q[mb], c.q[mb + 1]] == [0.9, 0.1, 0.3, 0.7]
    assert c.q[2] == 0.0 and c.q[2 * mb] == 0.0               # rows padded with zeros
    assert [c.accept[0], c.accept[1]] == [0.9, 0.4]


# --------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------
def test_policy_defaults_are_the_c_defaults():
    c = ffi.new("ahasd_config *")
    call(lib.ahasd_config_default, c)
    p = ahasd.Policy()
    d = c.policy
    assert POLICY_KINDS[d.kind] == p.kind
    for f in ("k", "k_min", "k_max", "svip_h", "svip_c", "adaedl_gamma", "adaedl_lambda",
              "specdecpp_tau", "specdecpp_grid", "bandit_explore", "bandit_cost_ratio"):
        assert getattr(p, f) == getattr(d, f), f
    assert p.arms == tuple(d.arms[i] for i in range(d.n_arms))


def test_policy_construction_and_validation():
    p = ahasd.Policy("svip", svip_h=0.5)
    assert p.kind == "svip" and p.svip_h == 0.5 and str(p).startswith("svip(svip_h=0.5")
    assert ahasd.Policy(1).kind == "svip"                      # C enum index
    b = ahasd.Policy("banditspec", arms=[2, 4, 8])
    assert b.arms == (2, 4, 8) and b.cstruct().n_arms == 3
    with pytest.raises(ConfigError, match=r"Policy.kind = 'svp'.*did you mean 'svip'"):
        ahasd.Policy("svp")
    with pytest.raises(ConfigError, match=r"k_m"):
        ahasd.Policy("svip", k_min=8, k_max=4)               # C: k_min <= k_max
    with pytest.raises(ConfigError, match=r"arms"):
        ahasd.Policy("banditspec", arms=[])
    with pytest.raises(ConfigError, match=r"no field 'svip_hh'"):
        p.replace(svip_hh=0.1)


# --------------------------------------------------------------------------
# TaskCosts
# --------------------------------------------------------------------------
def test_task_costs_pairs_and_idle_power():
    t = ahasd.TaskCosts(draft_token_s=0.01, verify_s=0.1, idle_w={"npu": 0.5})
    assert t.verify_s == (0.1, 0.0)
    assert t.idle_w == {"npu": 0.5, "pim": 0.0, "gpu": 0.0, "cpu": 0.0, "mem": 0.0}
    u = t.replace(verify_per_token_s=0.002, **{"idle_w.pim": 0.2})
    assert u.verify_s == (0.1, 0.002) and u.idle_w["pim"] == 0.2
    c = u.cstruct()
    assert (c.verify_base_s, c.verify_per_token_s) == (0.1, 0.002)
    assert c.idle_w[lib.AHASD_DEV_PIM] == 0.2
    assert hash(u) == hash(t.replace(verify_s=(0.1, 0.002), idle_w={"npu": 0.5, "pim": 0.2}))
    with pytest.raises(ConfigError, match=r"idle_w has unknown device 'nup'.*did you mean 'npu'"):
        ahasd.TaskCosts(draft_token_s=0.01, verify_s=0.1, idle_w={"nup": 1.0})
    with pytest.raises(ConfigError, match=r"draft_token_s = -1.0"):
        ahasd.TaskCosts(draft_token_s=-1, verify_s=0.1)
    with pytest.raises(ConfigError, match=r"\(base, per draft token\)"):
        ahasd.TaskCosts(draft_token_s=0.01, verify_s=(0.1, 0.2, 0.3))


# --------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------
def test_config_marshals_every_part(cfg, hw, draft, target, chat):
    c = cfg.to_c()
    assert c is cfg.to_c()                                   # built once, cached
    assert c.schedule == lib.AHASD_SCHED_AHASD
    assert c.policy.kind == lib.AHASD_POLICY_FIXED and c.policy.k == 4
    assert c.draft.layers == draft.layers and c.target.hidden == target.hidden
    assert c.hw.dev[lib.AHASD_DEV_NPU].mem_bw_bytes_per_s == hw.npu.mem_bw_bytes_per_s
    assert c.profile.buckets == chat.buckets
    # the run defaults are the C core's (ahasd_config_default)
    d = ffi.new("ahasd_config *")
    lib.ahasd_config_default(d, ffi.NULL)
    assert (c.prompt_len, c.gen_len, c.l_max, c.m_max, c.segments) == (
        d.prompt_len, d.gen_len, d.l_max, d.m_max, d.segments) == (128, 1024, 3, 8, 2)
    assert c.use_explicit_costs == 0 and c.tvc_predictor == lib.AHASD_TVC_MOVING_AVERAGE


def test_config_replace_routes_dotted_names(cfg):
    r = cfg.replace(**{"pim.internal_bw": 4e11, "target.weight_bytes": 0.5, "svip_h": 0.6,
                       "policy": "svip", "contention": 0.1, "workload.position_decay": 0.95,
                       "l_max": 2})
    c = r.to_c()
    assert c.hw.dev[lib.AHASD_DEV_PIM].mem_bw_bytes_per_s == 4e11
    assert c.target.weight_bytes == 0.5 and c.draft.weight_bytes == 1.0
    assert c.policy.kind == lib.AHASD_POLICY_SVIP and c.policy.svip_h == 0.6
    assert c.hw.contention == 0.1 and c.profile.position_decay == 0.95 and c.l_max == 2
    assert cfg.to_c().l_max == 3                             # the original is untouched
    assert r.get("pim.internal_bw") == 4e11 and r.get("svip_h") == 0.6
    a = cfg.replace(alpha=0.7)
    assert a.workload.buckets == 1 and a.get("alpha") == 0.7
    assert cfg.replace(k=6).policy.k == 6 and cfg.replace(**{"policy.k": 6}).policy.k == 6


def test_config_replace_unknown_name_suggests(cfg):
    with pytest.raises(ConfigError) as exc:
        cfg.replace(**{"pim.mem_bw_byte_per_s": 1e9})
    assert "mem_bw_byte_per_s" in str(exc.value) and "did you mean" in str(exc.value)
    with pytest.raises(ConfigError, match=r"Config has no parameter 'l_maxx'.*'l_max'"):
        cfg.replace(l_maxx=2)


def test_config_build_policy_parameters_and_alpha(point):
    c = ahasd.Config.build(policy="svip", svip_h=0.7, k_max=8, alpha=0.75, **point)
    assert c.policy == ahasd.Policy("svip", svip_h=0.7, k_max=8)
    assert c.workload.accept == (0.75,)
    with pytest.raises(ConfigError, match=r"svip_h is a parameter of policy 'svip'.*'fixed'"):
        ahasd.Config.build(svip_h=0.7, **point)
    with pytest.raises(ConfigError, match=r"either alpha .* or workload"):
        ahasd.Config.build(alpha=0.8, workload="alpaca", **point)
    with pytest.raises(ConfigError, match=r"schedule = 'asynch'.*did you mean 'async'"):
        ahasd.Config.build(schedule="asynch", **point)


def test_two_device_schedule_on_one_device_is_a_schedule_error(gpu_hw, draft, target, chat):
    ok = ahasd.Config(schedule="serial", hardware=gpu_hw, draft=draft, target=target,
                      workload=chat)
    assert ok.hardware_name == "test-gpu"
    with pytest.raises(ScheduleError, match=r"needs two devices"):
        ok.replace(schedule="sync")


def test_explicit_costs_need_no_hardware_or_models(chat):
    costs = ahasd.TaskCosts(draft_token_s=0.01, verify_s=(0.1, 0.005))
    c = ahasd.Config(costs=costs, workload=chat, schedule="async")
    assert c.hardware is None and c.draft is None and c.target is None
    assert c.to_c().use_explicit_costs == 1
    assert c.to_c().costs.verify_per_token_s == 0.005
    assert c.replace(sync_s=1e-3).costs.sync_s == 1e-3       # sync_s goes to the costs
    with pytest.raises(ConfigError, match=r"no hardware"):
        c.replace(**{"pim.static_w": 1.0})
    with pytest.raises(ScheduleError, match=r"partitioned"):
        c.replace(schedule="partitioned")


def test_config_pickles_and_hashes(cfg):
    back = pickle.loads(pickle.dumps(cfg))
    assert back == cfg and hash(back) == hash(cfg)
    assert back.to_c().policy.k == 4 and back.to_c() is not cfg.to_c()
    assert cfg.replace(k=5) != cfg


def test_config_describe_lists_every_part(cfg):
    text = cfg.describe()
    for part in ("configuration: ahasd | test-npu-pim | tiny-7b -> tiny-13b | fixed(k=4)",
                 "hardware test-npu-pim", "model tiny-7b", "model tiny-13b",
                 "workload test-chat", "gen_len", "source: AHASD Table 2"):
        assert part in text, part


# Every parameter the C core knows by name (sweeps use these) is a name Config
# understands, and Config's marshalling puts the same value where C reads it.
_NOT_PYTHON = {"use_explicit_costs"}


def _c_params() -> list[str]:
    names = [ffi.string(lib.ahasd_param_name(i)).decode() for i in range(lib.ahasd_param_count())]
    return [n for n in names if n not in _NOT_PYTHON and not n.endswith(".present")]


def _py_value(cfg: ahasd.Config, name: str) -> float:
    v = cfg.get(name)
    enums = {"schedule": SCHEDULES, "tvc_predictor": ("moving-average", "exact"),
             "draft_dev": ("npu", "pim", "gpu", "cpu"), "verify_dev": ("npu", "pim", "gpu", "cpu"),
             "nonlinear_host_dev": ("npu", "pim", "gpu", "cpu")}
    if name == "policy":
        return POLICY_KINDS.index(v.kind)
    if name in enums:
        return enums[name].index(v)
    if name.endswith("_kind"):
        from ahasd.model import ACT_KINDS, FFN_KINDS, NORM_KINDS
        kinds = {"ffn_kind": FFN_KINDS, "act_kind": ACT_KINDS, "norm_kind": NORM_KINDS}
        return kinds[name.split(".")[-1]].index(v)
    return float(v)


def test_every_c_parameter_name_reads_the_same_value(hw, draft, target):
    cfg = ahasd.Config(hardware=hw.replace(gpu=hw.npu, cpu=hw.npu), draft=draft, target=target,
                       workload=ahasd.Workload.iid(0.8))
    costs_cfg = ahasd.Config(costs=ahasd.TaskCosts(draft_token_s=0.011, verify_s=(0.13, 0.0021),
                                                   preverify_token_s=0.017, draft_token_j=0.019,
                                                   verify_j=(0.23, 0.0029), idle_w={"cpu": 0.31}),
                             workload=cfg.workload)
    names = _c_params()
    assert len(names) > 100
    value = ffi.new("double *")
    mismatches = []
    for name in names:
        c_cfg = costs_cfg if name.startswith("costs.") else cfg
        pid = lib.ahasd_param_find(name.encode())
        call(lib.ahasd_param_get, c_cfg.to_c(), pid, value)
        try:
            py = _py_value(c_cfg, name)
        except ConfigError as exc:
            mismatches.append(f"{name}: {exc}")
            continue
        if py != value[0]:
            mismatches.append(f"{name}: Python {py!r} != C {value[0]!r}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name,value", [
    ("npu.mem_bw_bytes_per_s", 68.3e9), ("pim.internal_bw", 5.12e11), ("pim.switch_s", 3.7e-6),
    ("pim.has_aau", 0), ("contention", 0.3), ("sync_s", 5e-6), ("k", 7), ("k_max", 12),
    ("svip_h", 0.55), ("l_max", 2), ("gen_len", 256), ("prompt_len", 64),
    ("target.weight_bytes", 0.5), ("draft.layers", 16), ("position_decay", 0.97),
    ("schedule", 4), ("tvc_predictor", 1), ("segments", 8),
])
def test_replace_by_c_name_lands_where_c_reads_it(cfg, name, value):
    changed = cfg.replace(**{name: value})
    got = ffi.new("double *")
    call(lib.ahasd_param_get, changed.to_c(), lib.ahasd_param_find(name.encode()), got)
    assert got[0] == value
    # and the C setter on a copy of the original struct agrees
    copy = ffi.new("ahasd_config *", cfg.to_c()[0])
    call(lib.ahasd_param_set, copy, lib.ahasd_param_find(name.encode()), float(value))
    assert bytes(ffi.buffer(copy)) == bytes(ffi.buffer(changed.to_c()))
