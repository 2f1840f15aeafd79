"""What the benchmark scripts (bench.py, validate.py) share: running on a
private copy of the package, and naming the machine they ran on."""
from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pin_build(name: str) -> None:
    """Import ahasd from a private copy of the package, compiled extension included.

    Other work may rebuild ahasd/_ahasd_cffi*.so in place while a long run is
    going; a process that has the old file mapped then crashes.  The copy
    (build/<name>/snapshot) keeps this run on one build throughout, child
    processes included (PYTHONPATH); presets still come from the repository's
    data/ (AHASD_DATA).  AHASD_NO_SNAPSHOT=1 imports the package in place.
    """
    if os.environ.get("AHASD_NO_SNAPSHOT") == "1":
        return
    dst = ROOT / "build" / name / "snapshot"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(ROOT / "ahasd", dst / "ahasd",
                    ignore=shutil.ignore_patterns("__pycache__", "*asan*", ".built*"))
    sys.path.insert(0, str(dst))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(dst)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    os.environ.setdefault("AHASD_DATA", str(ROOT / "data"))


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform module reports."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return cpu
