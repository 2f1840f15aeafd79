"""Presets: the strict TOML loader, the preset catalogue and value formatting.

Every preset is one TOML file under the package's data directory
(``data/models``, ``data/hardware``, ``data/workloads``); its file stem is the
name users type.  The schema is docs/DATA.md: every input field is an inline
table ``{ value = ..., source = "..." }`` or ``{ value = ..., assumption = "..." }``
(exactly one of the two), top-level ``name`` (equal to the file stem) and
``description`` are plain strings.  The loader is strict: a missing, extra,
misspelled or mistyped field raises :class:`ahasd.ConfigError` naming the file
and the field.

This module also holds the small type checks the dataclasses share (they name
the field, the value and what is allowed) and the SI formatting used when a
configuration or a result is printed (units come from the name suffixes).
"""
from __future__ import annotations

import difflib
import importlib.util
import math
import numbers
import os
import stat
import time
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import ConfigError

__all__ = [
    "KINDS", "data_root", "list_presets", "show_preset", "preset_path", "read_toml",
    "take_fields", "format_value", "unit_of", "as_cint", "strict_init",
]

#: Preset kinds and their data sub-directories (singular aliases accepted).
KINDS: dict[str, str] = {"models": "models", "hardware": "hardware", "workloads": "workloads"}
_KIND_ALIASES = {"model": "models", "models": "models", "hardware": "hardware",
                 "hw": "hardware", "workload": "workloads", "workloads": "workloads",
                 "profile": "workloads", "profiles": "workloads"}


# --------------------------------------------------------------------------
# Type checks shared by the dataclasses (Python side of validation; the C
# validators have the final word on ranges).
# --------------------------------------------------------------------------
def close_names(name: str, valid: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when ``name`` looks like one of ``valid``, else ''."""
    match = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def as_int(value: Any, field: str) -> int:
    """``value`` as a Python int; integral floats are accepted, bools are not."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{field} = {value!r} is not allowed: must be an integer")
    if isinstance(value, numbers.Integral):
        return int(value)
    v = float(value)
    if not math.isfinite(v) or not v.is_integer():
        raise ConfigError(f"{field} = {value!r} is not allowed: must be an integer")
    return int(v)


#: The range of a C ``int`` (every integer field of the C structs).
C_INT_MIN, C_INT_MAX = -(2 ** 31), 2 ** 31 - 1


def as_cint(value: Any, field: str, lo: int = C_INT_MIN, hi: int = C_INT_MAX) -> int:
    """``value`` as an int in [lo, hi] (default: what a C ``int`` holds).

    Refuses what :func:`as_int` refuses, and integers the C struct field
    cannot hold (which cffi would reject with an OverflowError).
    """
    v = as_int(value, field)
    if not lo <= v <= hi:
        raise ConfigError(f"{field} = {value!r} is not allowed: must be an integer in "
                          f"[{lo}, {hi}]")
    return v


def as_real(value: Any, field: str) -> float:
    """``value`` as a finite float; bools and strings are refused."""
    if type(value) is float and math.isfinite(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{field} = {value!r} is not allowed: must be a finite real number")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(f"{field} = {value!r} is not allowed: must be a finite real number")
    return v


def as_bool(value: Any, field: str) -> bool:
    """``value`` as a bool (True/False, or the integers 0 and 1)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise ConfigError(f"{field} = {value!r} is not allowed: must be true or false")


def as_choice(value: Any, field: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        hint = close_names(value, choices) if isinstance(value, str) else ""
        raise ConfigError(f"{field} = {value!r} is not allowed: must be one of "
                          f"{', '.join(choices)}{hint}")
    return value


def as_enum(value: Any, field: str, choices: Sequence[str]) -> str:
    """A name from ``choices``, given as the name or as its index (the C enum value)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        i = as_int(value, field)
        if not 0 <= i < len(choices):
            raise ConfigError(f"{field} = {value!r} is not allowed: must be one of "
                              f"{', '.join(choices)} (or its index 0..{len(choices) - 1})")
        return choices[i]
    return as_choice(value, field, choices)


def as_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{field} = {value!r} is not allowed: must be a string")
    return value


def as_reals(value: Any, field: str, n: int | None = None) -> tuple[float, ...]:
    """A 1-D sequence of finite reals as a tuple (length ``n`` if given)."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise ConfigError(f"{field} = {value!r} is not allowed: must be a list of real numbers")
    try:
        items = list(value)
    except TypeError:
        raise ConfigError(f"{field} = {value!r} is not allowed: must be a list of real numbers") \
            from None
    out = tuple(as_real(v, f"{field}[{i}]") for i, v in enumerate(items))
    if n is not None and len(out) != n:
        raise ConfigError(f"{field} has {len(out)} elements: must have {n}")
    return out


def as_matrix(value: Any, field: str, n: int) -> tuple[tuple[float, ...], ...]:
    """An n x n matrix of finite reals as a tuple of row tuples."""
    rows = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(rows, (str, bytes, Mapping)) or not hasattr(rows, "__len__"):
        raise ConfigError(f"{field} = {value!r} is not allowed: must be a {n} x {n} matrix")
    rows = list(rows)
    if len(rows) != n:
        raise ConfigError(f"{field} has {len(rows)} rows: must be a {n} x {n} matrix")
    return tuple(as_reals(r, f"{field}[{i}]", n) for i, r in enumerate(rows))


class CStruct:
    """Mixin of the frozen dataclasses that mirror a C struct.

    The object builds its struct once (``_make_c``, which also runs the C
    validator) and keeps it; ``cstruct()`` returns it (a cdata pointer owned
    by the object: do not modify it).  Pickling drops the struct; it is
    rebuilt on first use.
    """

    def _make_c(self) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def cstruct(self) -> Any:
        c = self.__dict__.get("_c")
        if c is None:
            c = self._make_c()
            object.__setattr__(self, "_c", c)
        return c

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_c", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def replace_as(obj: Any, changes: Mapping[str, Any], label: str) -> Any:
    """``obj.replace(**changes)``; a refusal names the field as the user wrote it:
    ``label.field`` (e.g. ``pim.static_w``) instead of the class's ``Device.static_w``."""
    try:
        return obj.replace(**changes)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(f"{type(obj).__name__}.", f"{label}.", 1)) from None


# --------------------------------------------------------------------------
# Where the presets live
# --------------------------------------------------------------------------
def _kind(kind: str) -> str:
    k = _KIND_ALIASES.get(kind) if isinstance(kind, str) else None
    if k is None:
        raise ConfigError(f"preset kind {kind!r} is not allowed: must be one of "
                          f"{', '.join(KINDS)}{close_names(str(kind), _KIND_ALIASES)}")
    return k


@lru_cache(maxsize=1)
def data_root() -> Path:
    """The directory holding ``models/``, ``hardware/`` and ``workloads/``.

    ``importlib.resources.files("ahasd.data")`` for an installed package (the
    wheel maps the repository's ``data/`` there); the repository's ``data/``
    for a source checkout or an editable install that does not map it.
    ``AHASD_DATA`` overrides both (a directory with the same layout).
    """
    env = os.environ.get("AHASD_DATA")
    if env:
        return Path(env)
    candidates: list[Path] = []
    try:
        # "ahasd.data" has no __init__.py: take the directories its spec names
        # (importlib.resources.files() of such a package is not a plain path).
        spec = importlib.util.find_spec("ahasd.data")
        if spec is not None and spec.submodule_search_locations:
            candidates += [Path(p) for p in spec.submodule_search_locations]
    except (ImportError, ValueError):
        pass
    candidates.append(Path(__file__).resolve().parent.parent / "data")
    root = candidates[-1]
    for c in candidates:
        if any((c / sub).is_dir() for sub in KINDS.values()):
            root = c
            break
    return root


def list_presets(kind: str | None = None) -> list[str] | dict[str, list[str]]:
    """Names of the presets of ``kind`` ("models", "hardware", "workloads"), sorted.

    Without ``kind``, a dict kind -> names for every kind.
    """
    if kind is None:
        return {k: list_presets(k) for k in KINDS}  # type: ignore[misc]
    d = data_root() / KINDS[_kind(kind)]
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.toml"))


def preset_path(kind: str, name: str) -> Path:
    """The TOML file of preset ``name`` of ``kind``; a name ending in ``.toml`` is a path.

    Raises ConfigError listing the valid names when there is no such preset.
    """
    k = _kind(kind)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{k} preset name {name!r} is not allowed: must be a non-empty string")
    if name.endswith(".toml"):
        p = Path(name).expanduser()
        if not p.is_file():
            raise ConfigError(f"{k} preset file {name!r} does not exist")
        return p
    p = data_root() / KINDS[k] / f"{name}.toml"
    if not p.is_file():
        names = list_presets(k)
        singular = {"models": "model", "hardware": "hardware", "workloads": "workload"}[k]
        raise ConfigError(f"unknown {singular} preset {name!r}{close_names(name, names)}; "
                          f"available: {', '.join(names) if names else '(none installed)'}")
    return p


_LOADED: dict[tuple[str, str, int, int], Any] = {}
_LOADED_MAX = 512
_RECENT: dict[tuple[str, str, str], tuple[float, Any]] = {}
#: Seconds during which a preset just checked is not stat()ed again.
FRESH_S = 0.5


def strict_init(cls: type) -> type:
    """Make the constructor of dataclass ``cls`` raise ConfigError, not TypeError,
    for an unknown (misspelled) keyword, a missing required field or extra
    positional arguments, naming the field and the allowed ones.

    Only errors of argument binding are converted (they are raised before the
    constructor's body runs, so their traceback has no deeper frame); a
    TypeError from inside the constructor propagates unchanged.  Costs nothing
    on the success path.
    """
    import functools
    import inspect

    orig = cls.__init__  # type: ignore[misc]
    sig = inspect.signature(orig)
    names = [n for n in sig.parameters if n != "self" and not n.startswith("_")]

    @functools.wraps(orig)
    def __init__(self: Any, *args: Any, **kw: Any) -> None:
        try:
            orig(self, *args, **kw)
        except TypeError as exc:
            tb = exc.__traceback__
            if tb is None or tb.tb_next is not None:
                raise
            unknown = [k for k in kw if k not in sig.parameters]
            if unknown:
                msg = (f"{cls.__name__} has no field '{unknown[0]}'"
                       f"{close_names(unknown[0], names)}; fields: {', '.join(names)}")
            else:
                msg = f"{cls.__name__}: {exc}; fields: {', '.join(names)}"
            raise ConfigError(msg) from None

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def load_preset(kind: str, name: str, loader: Callable[[Path], Any]) -> Any:
    """``loader(path)`` of preset ``name``, cached while the file is unchanged.

    Presets are frozen objects, so one instance is shared by every caller.
    An installed preset (a name, not a .toml path) is checked for changes
    (size, modification time) at most every FRESH_S seconds, so tight loops
    do not pay a system call per lookup; a .toml path is checked every time.
    """
    if not isinstance(name, str) or not name:
        preset_path(kind, name)   # raises: a preset name is a non-empty string
    if name.endswith(".toml"):
        return _load_preset(kind, name, loader)
    recent_key = (kind, name, str(data_root()))
    hit = _RECENT.get(recent_key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < FRESH_S:
        return hit[1]
    obj = _load_preset(kind, name, loader)
    if len(_RECENT) >= _LOADED_MAX:
        _RECENT.clear()
    _RECENT[recent_key] = (now, obj)
    return obj


def _load_preset(kind: str, name: str, loader: Callable[[Path], Any]) -> Any:
    k = _kind(kind)
    if isinstance(name, str) and name and not name.endswith(".toml"):
        fname = os.path.join(data_root(), KINDS[k], name + ".toml")
    else:
        fname = os.path.abspath(os.path.expanduser(name)) if isinstance(name, str) else ""
    try:
        st = os.stat(fname)
    except (OSError, ValueError):
        preset_path(k, name)   # raises the helpful error (unknown name, missing file)
        raise ConfigError(f"{fname}: cannot read") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{k} preset file {name!r} is not a regular file")
    key = (k, fname, st.st_mtime_ns, st.st_size)
    obj = _LOADED.get(key)
    if obj is None:
        obj = loader(Path(fname))
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.clear()
        _LOADED[key] = obj
    return obj


def show_preset(kind: str, name: str) -> str:
    """The resolved configuration of a preset, every value with its unit and source."""
    k = _kind(kind)
    if k == "models":
        from .model import Model
        return Model.preset(name).describe()
    if k == "hardware":
        from .hardware import Hardware
        return Hardware.preset(name).describe()
    from .workload import Workload
    return Workload.preset(name).describe()


# --------------------------------------------------------------------------
# The strict loader
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """The type of one TOML field: "int", "real", "bool", "str", "reals",
    "matrix", or "choice" with ``choices``."""
    kind: str
    choices: tuple[str, ...] = ()


INT, REAL, BOOL = Spec("int"), Spec("real"), Spec("bool")
REALS, MATRIX = Spec("reals"), Spec("matrix")


def choice(*names: str) -> Spec:
    return Spec("choice", tuple(names))


@lru_cache(maxsize=256)
def _read_toml_cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML file (cached by path, modification time and size).

    The returned dict is shared: treat it as read-only.
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    return _read_toml_cached(str(p), st.st_mtime_ns, st.st_size)


def _typed(spec: Spec, value: Any, where: str) -> Any:
    """Check one TOML value against its spec; the message names ``where``."""
    def bad(what: str) -> ConfigError:
        return ConfigError(f"{where}: value {value!r} is not allowed: must be {what}")

    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if spec.kind == "real":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if not math.isfinite(value):
            raise bad("a finite number")
        return float(value)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if spec.kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            hint = close_names(value, spec.choices) if isinstance(value, str) else ""
            raise bad("one of " + ", ".join(f'"{c}"' for c in spec.choices) + hint)
        return value
    if spec.kind == "reals":
        if not isinstance(value, list):
            raise bad("an array of numbers")
        return [_typed(REAL, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if spec.kind == "matrix":
        if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
            raise bad("an array of arrays of numbers")
        return [_typed(REALS, r, f"{where}[{i}]") for i, r in enumerate(value)]
    raise AssertionError(spec.kind)


def take_fields(table: Mapping[str, Any], specs: Mapping[str, Spec], path: Path | str,
                section: str = "", ignore: Iterable[str] = ()) -> tuple[dict[str, Any],
                                                                       dict[str, str]]:
    """Read the sourced fields ``specs`` of one TOML table.

    Every field must be present, be an inline table ``{value, source}`` or
    ``{value, assumption}``, and have a value of the right type; any other key
    (except those in ``ignore``) is an error.  Returns (values, sources) where
    sources[field] is "source: ..." or "assumption: ...".
    """
    prefix = f"{path}: " + (f"[{section}] " if section else "")
    ignore = set(ignore)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in table:
        if key not in specs and key not in ignore:
            raise ConfigError(f"{prefix}unknown field '{key}'{close_names(key, specs)}; "
                              f"allowed: {', '.join(specs)}")
    for name, spec in specs.items():
        where = f"{prefix}field '{name}'"
        if name not in table:
            raise ConfigError(f"{where} is missing")
        entry = table[name]
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an inline table {{ value = ..., source = "
                              f"\"...\" }} or {{ value = ..., assumption = \"...\" }}, "
                              f"got {entry!r}")
        extra = set(entry) - {"value", "source", "assumption"}
        if extra:
            key = sorted(extra)[0]
            raise ConfigError(f"{where} has unknown key '{key}'"
                              f"{close_names(key, ['value', 'source', 'assumption'])}; "
                              "allowed: value and one of source, assumption")
        if "value" not in entry:
            raise ConfigError(f"{where} has no 'value'")
        has_src, has_asm = "source" in entry, "assumption" in entry
        if has_src == has_asm:
            raise ConfigError(f"{where} must carry exactly one of 'source' and 'assumption' "
                              f"(found {'both' if has_src else 'neither'})")
        kind = "source" if has_src else "assumption"
        text = entry[kind]
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: '{kind}' must be a non-empty string, got {text!r}")
        values[name] = _typed(spec, entry["value"], where)
        sources[name] = f"{kind}: {text.strip()}"
    return values, sources


def header(doc: Mapping[str, Any], path: Path) -> tuple[str, str]:
    """The top-level ``name`` (must equal the file stem) and ``description``."""
    for key in ("name", "description"):
        if key not in doc:
            raise ConfigError(f"{path}: top-level field '{key}' is missing")
        if not isinstance(doc[key], str):
            raise ConfigError(f"{path}: top-level field '{key}' must be a plain string, "
                              f"got {doc[key]!r}")
    if doc["name"] != path.stem:
        raise ConfigError(f"{path}: name = {doc['name']!r} must equal the file name "
                          f"{path.stem!r}")
    return doc["name"], doc["description"]


def section(doc: Mapping[str, Any], key: str, path: Path, required: bool = True
            ) -> dict[str, Any] | None:
    """A ``[key]`` table of ``doc`` (None when absent and not required)."""
    if key not in doc:
        if required:
            raise ConfigError(f"{path}: section [{key}] is missing")
        return None
    t = doc[key]
    if not isinstance(t, dict):
        raise ConfigError(f"{path}: [{key}] must be a table, got {t!r}")
    return t


def check_top_level(doc: Mapping[str, Any], allowed: Iterable[str], path: Path,
                    what: str = "field") -> None:
    """Refuse top-level keys not in ``allowed`` (``what`` names them in the message)."""
    allowed = list(allowed)
    for key in doc:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown top-level {what} '{key}'"
                              f"{close_names(key, allowed)}; allowed: {', '.join(allowed)}")


# --------------------------------------------------------------------------
# Formatting values with their units (decimal SI prefixes)
# --------------------------------------------------------------------------
_UNITS: tuple[tuple[str, str], ...] = (
    ("tokens_per_j", "tok/J"),
    ("_tok_s", "tok/s"),
    ("_bytes_per_s", "B/s"),
    ("_ops_per_s", "op/s"),
    ("_per_op_j", "J/op"),
    ("_per_byte_j", "J/B"),
    ("_bytes", "B"),
    ("_js", "J s"),
    ("_j", "J"),
    ("_w", "W"),
    ("_s", "s"),
)


def unit_of(name: str) -> str:
    """The SI unit a field or output name carries in its suffix ('' if none)."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""),
             (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def format_si(value: float, unit: str, digits: int = 4, like: float | None = None) -> str:
    """``value`` with a decimal SI prefix on ``unit`` (e.g. 5.12e10, "B/s" -> "51.2 GB/s").

    With ``like``, the prefix is the one ``like`` would get (for a value and
    its confidence half-width printed side by side).
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    v = float(value)
    if not math.isfinite(v):
        return f"{v} {unit}".strip()
    ref = abs(float(like)) if like is not None and math.isfinite(like) and like else abs(v)
    if ref == 0.0 or not unit:
        return f"{v:.{digits}g} {unit}".strip()
    for scale, prefix in _PREFIXES:
        if ref >= scale * 0.9999995:
            return f"{v / scale:.{digits}g} {prefix}{unit}"
    return f"{v:.{digits}e} {unit}"


def format_value(name: str, value: Any, digits: int = 4) -> str:
    """A field or output value formatted with the unit its name implies."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        unit = unit_of(name)
        if isinstance(value, int) and not unit:
            return str(value)
        return format_si(float(value), unit, digits)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(format_value(name, v, digits) for v in value) + "]"
    return str(value)


def describe_fields(title: str, rows: Iterable[tuple[str, Any, str]]) -> list[str]:
    """Lines of a field / value / source table under ``title``."""
    rows = list(rows)
    lines = [title]
    if not rows:
        return lines
    w_name = max(len(r[0]) for r in rows)
    cells = [(r[0], format_value(r[0], r[1]), r[2]) for r in rows]
    w_val = max(len(c[1]) for c in cells)
    for n, v, s in cells:
        lines.append(f"  {n:<{w_name}}  {v:>{w_val}}  {s}".rstrip())
    return lines
