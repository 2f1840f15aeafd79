"""Build script: metadata lives in pyproject.toml; this file only wires the
cffi extension (API mode) compiled from csrc/ by ahasd/_build_ffi.py."""
from setuptools import setup

setup(cffi_modules=["ahasd/_build_ffi.py:ffibuilder"])
