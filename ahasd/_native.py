"""Loading the compiled C core and calling it safely.

- ``ffi`` and ``lib`` are the cffi API-mode module (``ahasd._ahasd_cffi``, or
  the sanitizer build ``ahasd._ahasd_cffi_asan`` when ``AHASD_NATIVE=asan``).
- GSL's abort()ing error handler is switched off exactly once per process.
- ``call(fn, *args)`` appends an ``ahasd_error*`` and raises the matching
  exception with the C message when the status is negative;
  ``checked_struct`` builds a struct and runs its C validator that way, and
  ``config_defaults`` returns a config holding the library defaults.
- ``workspace()`` returns this thread's C workspace (caches and scratch are
  never shared between threads; cffi releases the GIL during C calls).
- ``as_double_array`` gives a C-contiguous float64 copy or view, never a
  reinterpretation of another dtype.
"""
from __future__ import annotations

import importlib
import os
import threading
from typing import Any, Callable

import numpy as np

from .errors import AhasdError, ConfigError, NumericalError, ScheduleError

_variant = os.environ.get("AHASD_NATIVE", "")
_mod = importlib.import_module(
    "ahasd._ahasd_cffi_asan" if _variant == "asan" else "ahasd._ahasd_cffi")
ffi = _mod.ffi
lib = _mod.lib


def _init() -> None:
    lib.ahasd_gsl_handler_off()


ffi.init_once(_init, "gsl_handler_off")

_CODE_TO_EXC: dict[int, type[Exception]] = {
    lib.AHASD_ERR_NULL: ConfigError,
    lib.AHASD_ERR_BAD_PARAM: ConfigError,
    lib.AHASD_ERR_NOMEM: MemoryError,
    lib.AHASD_ERR_GSL: NumericalError,
    lib.AHASD_ERR_NUMERIC: NumericalError,
    lib.AHASD_ERR_SCHEDULE: ScheduleError,
    lib.AHASD_ERR_BUFFER: ConfigError,
    lib.AHASD_ERR_UNKNOWN: ConfigError,
    lib.AHASD_ERR_UNSUPPORTED: ConfigError,
}


def error_message(err: Any, code: int) -> str:
    msg = ffi.string(err.msg).decode("utf-8", "replace") if err is not None else ""
    if not msg:
        msg = ffi.string(lib.ahasd_strerror(code)).decode()
    return msg


def raise_for(code: int, err: Any) -> None:
    """Raise the exception for a negative C status (no-op for AHASD_OK)."""
    if code >= 0:
        return
    exc = _CODE_TO_EXC.get(code, AhasdError)
    raise exc(error_message(err, code))


def call(fn: Callable[..., int], *args: Any) -> None:
    """Call a C function whose last parameter is ``ahasd_error *`` and raise on failure."""
    err = ffi.new("ahasd_error *")
    code = fn(*args, err)
    if code < 0:
        raise_for(code, err)


def checked_struct(ctype: str, fill: Callable[[Any], None], validate: Callable[..., int],
                   *args: Any) -> Any:
    """A new ``ctype`` (e.g. ``"ahasd_model *"``) filled by ``fill`` and checked by its C
    validator, called as ``validate(struct, *args, err)``; raises as :func:`call`."""
    c = ffi.new(ctype)
    fill(c)
    call(validate, c, *args)
    return c


def config_defaults() -> Any:
    """A new ``ahasd_config *`` holding the library defaults (``ahasd_config_default``)."""
    c = ffi.new("ahasd_config *")
    call(lib.ahasd_config_default, c)
    return c


class _Workspaces(threading.local):
    ws: Any = None


_tls = _Workspaces()


def workspace() -> Any:
    """This thread's ``ahasd_workspace *`` (allocated on first use, freed with the thread)."""
    ws = _tls.ws
    if ws is None:
        raw = lib.ahasd_workspace_alloc()
        if raw == ffi.NULL:
            raise MemoryError("ahasd_workspace_alloc failed")
        ws = ffi.gc(raw, lib.ahasd_workspace_free)
        _tls.ws = ws
    return ws


def as_double_array(a: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """A C-contiguous float64 array from ``a``; raises ConfigError naming ``name``."""
    try:
        arr = np.ascontiguousarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be an array of real numbers: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ConfigError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def output_names() -> list[str]:
    return [ffi.string(lib.ahasd_output_name(i)).decode() for i in range(lib.AHASD_N_OUT)]
