"""The strict preset loader, the catalogue, and unit formatting."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

import ahasd
from ahasd import presets
from ahasd.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# Loading the fixtures
# --------------------------------------------------------------------------
def test_model_fixture_values_and_sources(data_dir):
    m = ahasd.Model.from_toml(data_dir / "models" / "tiny-7b.toml")
    assert (m.name, m.layers, m.hidden, m.heads, m.kv_heads, m.ffn, m.vocab) == \
        ("tiny-7b", 32, 4096, 32, 32, 11008, 32000)
    assert (m.ffn_kind, m.act_kind, m.norm_kind, m.tied_embeddings) == \
        ("gated", "silu", "rmsnorm", False)
    assert isinstance(m.weight_bytes, float) and m.weight_bytes == 1.0   # TOML int -> float
    assert m.sources["layers"].startswith("source: meta-llama/Llama-2-7b-hf")
    assert m.sources["kv_bytes"] == "assumption: INT8 KV cache"


def test_hardware_fixture_devices_roles_and_sources(data_dir):
    hw = ahasd.Hardware.from_toml(data_dir / "hardware" / "test-npu-pim.toml")
    assert set(hw.devices) == {"npu", "pim"}
    assert hw.gpu is None and hw.cpu is None
    assert (hw.draft_dev, hw.verify_dev) == ("pim", "npu")
    assert hw.npu.mem_bw_bytes_per_s == 51.2e9
    assert hw.pim.has_aau is True and hw.pim.units == 16.0
    assert hw.pim.sources["mem_bw_bytes_per_s"] == "source: AHASD Table 2: 256 GB/s internal"
    assert hw.sources["contention"].startswith("assumption: ")


def test_workload_fixture_matrix_and_fit(data_dir):
    w = ahasd.Workload.from_toml(data_dir / "workloads" / "test-chat.toml")
    assert w.buckets == 2
    assert w.q == ((0.9, 0.1), (0.3, 0.7))
    assert w.accept == (0.9, 0.4)
    assert w.fit["method"] == "hand-set"
    assert w.fit["targets"][0]["statistic"] == "tokens_per_round"
    # stationary law of q: pi = (0.75, 0.25)
    assert w.stationary == pytest.approx([0.75, 0.25])
    assert w.mean_acceptance == pytest.approx(0.75 * 0.9 + 0.25 * 0.4)


# --------------------------------------------------------------------------
# Strictness: every malformed file names the file and the field
# --------------------------------------------------------------------------
def _mutated(tmp_path: Path, src: Path, old: str, new: str, stem: str | None = None) -> Path:
    text = src.read_text()
    assert old in text, f"fixture changed: {old!r} not in {src.name}"
    stem = stem or src.stem
    dst = tmp_path / f"{stem}.toml"
    dst.write_text(text.replace(old, new, 1).replace(f'name = "{src.stem}"', f'name = "{stem}"'))
    return dst


def _check_refused(load: Callable[[Path], Any], path: Path, words: list[str]) -> None:
    """load(path) raises a ConfigError naming the file and containing every one of words."""
    with pytest.raises(ConfigError) as exc:
        load(path)
    msg = str(exc.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


MODEL_CASES = [
    # (old text, new text, words the message must contain)
    ('layers = { value = 32,', 'layerz = { value = 32,', ["unknown top-level field 'layerz'",
                                                           "did you mean 'layers'"]),
    ('vocab = { value = 32000, source = "meta-llama/Llama-2-7b-hf config.json: vocab_size" }\n',
     '', ["'vocab'", "missing"]),
    ('layers = { value = 32,', 'layers = { value = "32",', ["'layers'", "integer"]),
    ('layers = { value = 32,', 'layers = { value = 32.0,', ["'layers'", "integer"]),
    ('kv_bytes = { value = 1.0,', 'kv_bytes = { value = true,', ["'kv_bytes'", "number"]),
    ('tied_embeddings = { value = false,', 'tied_embeddings = { value = 0,',
     ["'tied_embeddings'", "true or false"]),
    ('ffn_kind = { value = "gated"', 'ffn_kind = { value = "gatd"',
     ["'ffn_kind'", '"plain"', "did you mean 'gated'"]),
    ('head_dim = { value = 0, assumption = "hidden / heads" }',
     'head_dim = { value = 0, assumption = "hidden / heads", source = "x" }',
     ["'head_dim'", "exactly one of 'source' and 'assumption'", "both"]),
    ('head_dim = { value = 0, assumption = "hidden / heads" }', 'head_dim = { value = 0 }',
     ["'head_dim'", "exactly one", "neither"]),
    ('head_dim = { value = 0, assumption = "hidden / heads" }',
     'head_dim = { value = 0, assumption = "  " }', ["'head_dim'", "non-empty"]),
    ('head_dim = { value = 0, assumption = "hidden / heads" }',
     'head_dim = { value = 0, assumption = "x", unit = "1" }',
     ["'head_dim'", "unknown key 'unit'"]),
    ('head_dim = { value = 0, assumption = "hidden / heads" }', 'head_dim = 0',
     ["'head_dim'", "inline table"]),
    ('head_dim = { value = 0, assumption = "hidden / heads" }',
     'head_dim = { valu = 0, assumption = "x" }', ["'head_dim'", "unknown key 'valu'"]),
    ('description = "test fixture: LLaMA2-7B shape, INT8"', '', ["'description'", "missing"]),
    ('description = "test fixture: LLaMA2-7B shape, INT8"',
     'description = "x"\n[extra]\nfoo = 1', ["'extra'"]),
]


@pytest.mark.parametrize("old,new,words", MODEL_CASES)
def test_model_file_errors_name_file_and_field(tmp_path, data_dir, old, new, words):
    path = _mutated(tmp_path, data_dir / "models" / "tiny-7b.toml", old, new)
    _check_refused(ahasd.Model.from_toml, path, words)


def test_name_must_equal_file_stem(tmp_path, data_dir):
    dst = tmp_path / "other.toml"
    shutil.copy(data_dir / "models" / "tiny-7b.toml", dst)
    with pytest.raises(ConfigError, match=r"must equal the file name 'other'"):
        ahasd.Model.from_toml(dst)


def test_invalid_toml_syntax(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text('name = "broken"\nlayers = { value = 32, \n')
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        ahasd.Model.from_toml(p)


def test_c_validation_of_a_file_names_the_file(tmp_path, data_dir):
    # Well-typed but out of range: the C validator rejects it, the message keeps the path.
    path = _mutated(tmp_path, data_dir / "models" / "tiny-7b.toml",
                    'kv_heads = { value = 32,', 'kv_heads = { value = 5,')
    _check_refused(ahasd.Model.from_toml, path, ["kv_heads"])


HW_CASES = [
    ('[platform]\nmemory_capacity_bytes', '[platfrom]\nmemory_capacity_bytes',
     ["'platfrom'", "did you mean 'platform'"]),
    ('switch_s = { value = 1e-6, assumption = "DLM <-> TLM switch for tests" }\n', '',
     ["[pim]", "'switch_s'", "missing"]),
    ('static_w = { value = 0.5, assumption = "NPU static power for tests" }',
     'static_w = { value = 0.5, assumption = "NPU static power for tests" }\n'
     'switch_s = { value = 1e-6, assumption = "x" }', ["[npu]", "'switch_s'", "only [pim]"]),
    ('draft_dev = { value = "pim"', 'draft_dev = { value = "dsp"', ["[roles]", "'draft_dev'"]),
    ('mem_bw_bytes_per_s = { value = 51.2e9', 'mem_bw_bytes_per_s = { value = "51.2 GB/s"',
     ["[npu]", "'mem_bw_bytes_per_s'", "number"]),
    ('contention = { value = 0.0,', 'contention = { value = nan,', ["'contention'", "finite"]),
]


@pytest.mark.parametrize("old,new,words", HW_CASES)
def test_hardware_file_errors_name_file_and_field(tmp_path, data_dir, old, new, words):
    path = _mutated(tmp_path, data_dir / "hardware" / "test-npu-pim.toml", old, new)
    _check_refused(ahasd.Hardware.from_toml, path, words)


def test_hardware_without_a_device_section_has_it_absent(tmp_path, data_dir):
    # Dropping [npu] leaves a platform whose verify device is absent: C says so.
    src = (data_dir / "hardware" / "test-npu-pim.toml").read_text()
    start, end = src.index("[npu]"), src.index("[pim]")
    p = tmp_path / "test-npu-pim.toml"
    p.write_text(src[:start] + src[end:])
    with pytest.raises(ConfigError, match=r"verify_dev"):
        ahasd.Hardware.from_toml(p)


WL_CASES = [
    ('q = { value = [[0.9, 0.1], [0.3, 0.7]]', 'q = { value = [0.9, 0.1]',
     ["'q'", "array of arrays"]),
    ('accept = { value = [0.9, 0.4]', 'accept = { value = [0.9]', ["accept", "2"]),
    ('residuals = [0.05]', 'residuals = [0.05, 0.1]', ["[fit]", "2 residuals for 1 targets"]),
    ('method = "hand-set"', 'method = "hand-set"\nmethd = "x"', ["[fit]", "'methd'"]),
    ('value = 2.9, source = "made up for tests"', 'value = 2.9',
     ["targets[0]", "'source'"]),
]


@pytest.mark.parametrize("old,new,words", WL_CASES)
def test_workload_file_errors_name_file_and_field(tmp_path, data_dir, old, new, words):
    path = _mutated(tmp_path, data_dir / "workloads" / "test-chat.toml", old, new)
    _check_refused(ahasd.Workload.from_toml, path, words)


def test_workload_rows_must_sum_to_one_per_c(tmp_path, data_dir):
    path = _mutated(tmp_path, data_dir / "workloads" / "test-chat.toml",
                    "[[0.9, 0.1], [0.3, 0.7]]", "[[0.9, 0.2], [0.3, 0.7]]")
    _check_refused(ahasd.Workload.from_toml, path, ["q"])


# --------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------
def test_list_presets_of_each_kind(test_presets):
    assert ahasd.list_presets("models") == ["tiny-13b", "tiny-7b"]
    assert ahasd.list_presets("model") == ["tiny-13b", "tiny-7b"]   # singular alias
    assert ahasd.list_presets("hardware") == ["test-gpu", "test-npu-pim"]
    assert ahasd.list_presets("workloads") == ["test-chat"]
    everything = ahasd.list_presets()
    assert set(everything) == {"models", "hardware", "workloads"}


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ConfigError, match=r"models, hardware, workloads"):
        ahasd.list_presets("gpus")


def test_unknown_preset_lists_valid_names_and_suggests(test_presets):
    with pytest.raises(ConfigError) as exc:
        ahasd.Model.preset("tiny-8b")
    msg = str(exc.value)
    assert "unknown model preset 'tiny-8b'" in msg
    assert "tiny-13b, tiny-7b" in msg
    assert "did you mean 'tiny-7b'" in msg


def test_preset_by_name_and_by_path_agree(test_presets, data_dir):
    by_name = ahasd.Hardware.preset("test-npu-pim")
    by_path = ahasd.Hardware.preset(str(data_dir / "hardware" / "test-npu-pim.toml"))
    assert by_name == by_path


def test_missing_toml_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist"):
        ahasd.Model.preset(str(tmp_path / "nope.toml"))


def test_preset_cache_sees_edits(tmp_path, data_dir):
    p = tmp_path / "tiny-7b.toml"
    shutil.copy(data_dir / "models" / "tiny-7b.toml", p)
    assert ahasd.Model.preset(str(p)).layers == 32
    text = p.read_text().replace("layers = { value = 32,", "layers = { value = 16,  ")
    p.write_text(text)   # same size is avoided by the extra spaces; mtime changes too
    assert ahasd.Model.preset(str(p)).layers == 16


def test_show_preset_prints_units_and_sources(test_presets):
    text = ahasd.show_preset("hardware", "test-npu-pim")
    assert re.search(r"mem_bw_bytes_per_s\s+51\.2 GB/s\s+source: AHASD Table 2", text)
    assert "[pim]" in text and "has_aau" in text and "true" in text
    assert "absent: gpu, cpu" in text
    mtext = ahasd.show_preset("models", "tiny-13b")
    assert "G parameters" in mtext and "source: meta-llama/Llama-2-13b-hf" in mtext
    wtext = ahasd.show_preset("workload", "test-chat")
    assert "tokens_per_round = 2.9" in wtext and "made up for tests" in wtext


def test_data_root_is_the_repository_data_for_a_source_tree(monkeypatch):
    monkeypatch.delenv("AHASD_DATA", raising=False)
    presets.data_root.cache_clear()
    try:
        root = presets.data_root()
        assert (root / "models").is_dir() and (root / "hardware").is_dir()
        assert root.resolve() == (ROOT / "data").resolve()
    finally:
        presets.data_root.cache_clear()


# --------------------------------------------------------------------------
# Units from names
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name,value,text", [
    ("mem_bw_bytes_per_s", 5.12e10, "51.2 GB/s"),
    ("matrix_ops_per_s", 16e12, "16 Top/s"),
    ("matrix_energy_per_op_j", 0.09e-12, "90 fJ/op"),
    ("mem_energy_per_byte_j", 4.4e-12, "4.4 pJ/B"),
    ("capacity_bytes", 4e9, "4 GB"),
    ("static_w", 0.0185, "18.5 mW"),
    ("switch_s", 2e-6, "2 us"),
    ("throughput_tok_s", 12.5, "12.5 tok/s"),
    ("energy_per_token_j", 0.372, "372 mJ"),
    ("edp_js", 0.04365, "43.65 mJ s"),
    ("tokens_per_j", 2.687, "2.687 tok/J"),
    ("layers", 40, "40"),
    ("has_aau", True, "true"),
])
def test_format_value_uses_decimal_si_prefixes(name, value, text):
    assert presets.format_value(name, value) == text


def test_format_si_like_keeps_the_values_prefix():
    assert presets.format_si(0.0123, "s", like=0.117) == "12.3 ms"
    assert presets.format_si(1.5e-4, "s", like=0.117) == "0.15 ms"


# --------------------------------------------------------------------------
# The user presets in data/ (written by the data engineers): all must load
# strictly, and the names MODEL.md promises must exist.
# --------------------------------------------------------------------------
def test_every_user_preset_loads_strictly():
    classes = {"models": ahasd.Model, "hardware": ahasd.Hardware, "workloads": ahasd.Workload}
    files = sorted(p for kind in classes for p in (ROOT / "data" / kind).glob("*.toml"))
    assert files, "no presets under data/"
    failures = []
    for path in files:
        try:
            obj = classes[path.parent.name].from_toml(path)
            assert obj.name == path.stem and obj.describe()
        except ConfigError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind,name", [
    *(("hardware", n) for n in ("ahasd-npu-pim", "npu-lpddr5", "rtx4090-laptop",
                                "specpim-gpu-pim", "edge-cortexa-mali")),
    *(("models", n) for n in ("opt-1.3b", "opt-6.7b", "llama2-7b", "llama2-13b", "palm-8b",
                              "palm-30b", "llama3.2-1b", "llama3.1-8b", "qwen2.5-0.5b",
                              "qwen2.5-7b")),
    *(("workloads", n) for n in ("alpaca", "code", "summarization", "translation")),
])
def test_names_model_md_promises_are_installed(kind, name):
    assert name in ahasd.list_presets(kind)
