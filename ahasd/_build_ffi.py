"""cffi (API mode) build of the C core.

setuptools runs this through ``cffi_modules`` in setup.py.  The cdef is the
region between the CDEF markers of ``csrc/ahasd.h``, so the header stays the
single source of truth for the C interface.

``AHASD_SANITIZE=1 python ahasd/_build_ffi.py`` builds an AddressSanitizer +
UndefinedBehaviorSanitizer variant in place as ``ahasd._ahasd_cffi_asan``; the
package loads it when ``AHASD_NATIVE=asan`` (the ASan runtime must then be
preloaded, see the Makefile's ``pytest-asan`` target).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CSRC = ROOT / "csrc"
SANITIZE = os.environ.get("AHASD_SANITIZE") == "1"
MODULE = "ahasd._ahasd_cffi_asan" if SANITIZE else "ahasd._ahasd_cffi"


def _cdef() -> str:
    text = (CSRC / "ahasd.h").read_text()
    m = re.search(r"/\* CDEF BEGIN \*/(.*?)/\* CDEF END \*/", text, re.S)
    if m is None:
        raise RuntimeError("csrc/ahasd.h has no CDEF BEGIN/END region")
    return m.group(1)


def _gsl_flags() -> tuple[list[str], list[str], list[str]]:
    """Include dirs, library dirs and libraries for GSL (gsl-config if present)."""
    if shutil.which("gsl-config"):
        cflags = shlex.split(subprocess.check_output(["gsl-config", "--cflags"], text=True))
        libs = shlex.split(subprocess.check_output(["gsl-config", "--libs"], text=True))
        incs = [f[2:] for f in cflags if f.startswith("-I")]
        libdirs = [f[2:] for f in libs if f.startswith("-L")]
        names = [f[2:] for f in libs if f.startswith("-l")]
        return incs, libdirs, names
    return [], [], ["gsl", "gslcblas", "m"]


def _sources(absolute: bool = False) -> list[str]:
    # Relative to the project root for setuptools (which runs from there and
    # wants relative paths in an sdist); absolute for an in-place build,
    # which compiles inside build/.
    paths = sorted(CSRC.glob("*.c"))
    return [str(p) if absolute else str(p.relative_to(ROOT)) for p in paths]


_incs, _libdirs, _libs = _gsl_flags()
_cflags = ["-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"]
_ldflags: list[str] = []
if SANITIZE:
    # gcc's "undefined" leaves out float-cast-overflow (double -> int out of
    # range); it is named explicitly
    _cflags += ["-O1", "-g", "-fno-omit-frame-pointer",
                "-fsanitize=address,undefined,float-cast-overflow",
                "-fno-sanitize-recover=undefined,float-cast-overflow"]
    _ldflags += ["-fsanitize=address,undefined,float-cast-overflow"]
else:
    _cflags += ["-O2"]

_IN_PLACE = __name__ == "__main__"
ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    MODULE,
    '#include "ahasd.h"\n',
    sources=_sources(absolute=_IN_PLACE),
    include_dirs=[str(CSRC) if _IN_PLACE else "csrc", *_incs],
    library_dirs=_libdirs,
    libraries=_libs,
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
)

if __name__ == "__main__":
    os.chdir(ROOT)
    # Build in place: the .so lands next to this file.
    ffibuilder.compile(tmpdir=str(ROOT / "build" / ("cffi-asan" if SANITIZE else "cffi")),
                       verbose=False)
    built = list((ROOT / "build" / ("cffi-asan" if SANITIZE else "cffi") / "ahasd").glob(
        MODULE.split(".")[-1] + "*.so"))
    for so in built:
        # Copy then rename: the rename is atomic, so a process that has the
        # old module mapped keeps a valid file (overwriting it in place
        # crashes such processes).
        tmp = HERE / (so.name + ".tmp")
        shutil.copy2(so, tmp)
        os.replace(tmp, HERE / so.name)
        print(f"built {HERE / so.name}")
