"""Shared fixtures: the small presets under tests/data and configurations built from them.

The fixtures are independent of the user presets in data/ (which other tests
check separately), so the numbers here stay put when data/ changes.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import ahasd
from ahasd import presets

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: models/, hardware/, workloads/ with test fixtures."""
    return DATA


@pytest.fixture
def test_presets(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the preset catalogue at tests/data for one test."""
    monkeypatch.setenv("AHASD_DATA", str(DATA))
    presets.data_root.cache_clear()
    yield DATA
    monkeypatch.delenv("AHASD_DATA", raising=False)
    presets.data_root.cache_clear()


@pytest.fixture(scope="session")
def hw() -> ahasd.Hardware:
    return ahasd.Hardware.from_toml(DATA / "hardware" / "test-npu-pim.toml")


@pytest.fixture(scope="session")
def gpu_hw() -> ahasd.Hardware:
    return ahasd.Hardware.from_toml(DATA / "hardware" / "test-gpu.toml")


@pytest.fixture(scope="session")
def draft() -> ahasd.Model:
    return ahasd.Model.from_toml(DATA / "models" / "tiny-7b.toml")


@pytest.fixture(scope="session")
def target() -> ahasd.Model:
    return ahasd.Model.from_toml(DATA / "models" / "tiny-13b.toml")


@pytest.fixture(scope="session")
def chat() -> ahasd.Workload:
    return ahasd.Workload.from_toml(DATA / "workloads" / "test-chat.toml")


@pytest.fixture(scope="session")
def cfg(hw, draft, target, chat) -> ahasd.Config:
    """The AHASD schedule on the test platform, fixed k = 4, two-regime workload."""
    return ahasd.Config(hardware=hw, draft=draft, target=target, workload=chat)


@pytest.fixture(scope="session")
def point(hw, draft, target) -> dict:
    """Design-point keywords for estimate()/simulate() on the test platform."""
    return {"hardware": hw, "draft": draft, "target": target}
