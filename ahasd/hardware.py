"""Device and Hardware: the platform a design point runs on (layer 2 of MODEL.md).

Field names are the TOML keys of ``data/hardware/*.toml`` and the fields of
the C structs ``ahasd_device`` / ``ahasd_hardware``; units are in the names
(ops/s, bytes/s, bytes, J per op, J per byte, W, s).  A device slot that is
``None`` is absent from the platform.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from . import presets as P
from ._native import checked_struct, ffi, lib
from .errors import ConfigError

__all__ = ["Device", "Hardware", "ROLES", "DEVICE_FIELDS", "PIM_FIELDS", "PLATFORM_FIELDS"]

#: Device slots, in the order of the C accounting index AHASD_DEV_*.
ROLES: tuple[str, ...] = ("npu", "pim", "gpu", "cpu")
ROLE_INDEX = {"npu": lib.AHASD_DEV_NPU, "pim": lib.AHASD_DEV_PIM, "gpu": lib.AHASD_DEV_GPU,
              "cpu": lib.AHASD_DEV_CPU}

#: Fields every device has (all real numbers).
DEVICE_FIELDS: tuple[str, ...] = (
    "matrix_ops_per_s", "vector_ops_per_s", "compute_util", "mem_bw_bytes_per_s",
    "mem_bw_util", "capacity_bytes", "link_bw_bytes_per_s", "link_bw_util", "onchip_bytes",
    "matrix_energy_per_op_j", "vector_energy_per_op_j", "mem_energy_per_byte_j",
    "link_energy_per_byte_j", "onchip_energy_per_byte_j", "static_w", "pass_overhead_s",
    "op_overhead_s",
)
#: Fields only the PIM has (``has_aau`` is a bool, the rest real).
PIM_FIELDS: tuple[str, ...] = ("units", "has_aau", "aau_ops_per_s", "aau_energy_per_op_j",
                               "switch_s", "roundtrip_s")
#: Platform fields of ``[platform]``.
PLATFORM_FIELDS: tuple[str, ...] = ("memory_capacity_bytes", "memory_static_w", "contention",
                                    "sync_s", "rollback_s")
#: Role fields of ``[roles]``.
ROLE_FIELDS: tuple[str, ...] = ("draft_dev", "verify_dev", "nonlinear_host_dev")

#: Aliases accepted by Hardware.replace and Config.replace (docs/DATA.md).
ALIASES: dict[str, str] = {
    "pim.internal_bw_bytes_per_s": "pim.mem_bw_bytes_per_s",
    "pim.internal_bw": "pim.mem_bw_bytes_per_s",
    "npu.offchip_bw_bytes_per_s": "npu.mem_bw_bytes_per_s",
    "pim.internal_bw_util": "pim.mem_bw_util",
    "npu.offchip_bw_util": "npu.mem_bw_util",
}

_DEVICE_SPECS = {f: P.REAL for f in DEVICE_FIELDS}
_PIM_SPECS = {**_DEVICE_SPECS, "units": P.REAL, "has_aau": P.BOOL, "aau_ops_per_s": P.REAL,
              "aau_energy_per_op_j": P.REAL, "switch_s": P.REAL, "roundtrip_s": P.REAL}
_PLATFORM_SPECS = {f: P.REAL for f in PLATFORM_FIELDS}
_ROLE_SPECS = {f: P.choice(*ROLES) for f in ROLE_FIELDS}


@P.strict_init
@dataclass(frozen=True, kw_only=True)
class Device:
    """One compute device: roofline peaks, paths to memory, energies, overheads.

    Peaks in ops/s (one MAC = 2 ops), bandwidths in bytes/s, ``*_util`` the
    achievable fraction of a peak in (0, 1], capacities in bytes (0:
    unlimited), energies in J per op or per byte, ``static_w`` in W (drawn
    busy or idle), overheads in s.  PIM only: ``units``, ``has_aau``,
    ``aau_ops_per_s``, ``aau_energy_per_op_j``, ``switch_s`` (DLM <-> TLM task
    switch), ``roundtrip_s`` (per nonlinear op shipped to the host without
    an AAU).  The meaning of each field is documented on ``ahasd_device`` in
    csrc/ahasd.h.
    """

    matrix_ops_per_s: float
    vector_ops_per_s: float
    mem_bw_bytes_per_s: float
    compute_util: float = 1.0
    mem_bw_util: float = 1.0
    capacity_bytes: float = 0.0
    link_bw_bytes_per_s: float = 0.0
    link_bw_util: float = 1.0
    onchip_bytes: float = 0.0
    matrix_energy_per_op_j: float = 0.0
    vector_energy_per_op_j: float = 0.0
    mem_energy_per_byte_j: float = 0.0
    link_energy_per_byte_j: float = 0.0
    onchip_energy_per_byte_j: float = 0.0
    static_w: float = 0.0
    pass_overhead_s: float = 0.0
    op_overhead_s: float = 0.0
    units: float = 0.0
    has_aau: bool = False
    aau_ops_per_s: float = 0.0
    aau_energy_per_op_j: float = 0.0
    switch_s: float = 0.0
    roundtrip_s: float = 0.0
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for f in DEVICE_FIELDS + PIM_FIELDS:
            if f == "has_aau":
                set_(self, f, P.as_bool(self.has_aau, "Device.has_aau"))
                continue
            v = P.as_real(getattr(self, f), f"Device.{f}")
            if v < 0:
                raise ConfigError(f"Device.{f} = {v!r} is not allowed: must be >= 0")
            set_(self, f, v)
        for f in ("compute_util", "mem_bw_util", "link_bw_util"):
            v = getattr(self, f)
            if v > 1.0:
                raise ConfigError(f"Device.{f} = {v!r} is not allowed: must be a fraction "
                                  "in (0, 1]")
        if not isinstance(self.sources, dict):
            raise ConfigError("Device.sources must be a dict field -> text")
        set_(self, "sources", dict(self.sources))

    def replace(self, **changes: Any) -> "Device":
        """A copy with ``changes`` applied."""
        bad = [k for k in changes if k not in _DEVICE_FIELD_NAMES]
        if bad:
            raise ConfigError(f"Device has no field '{bad[0]}'"
                              f"{P.close_names(bad[0], _DEVICE_FIELD_NAMES)}; fields: "
                              f"{', '.join(DEVICE_FIELDS + PIM_FIELDS)}")
        sources = dict(self.sources)
        for k in changes:
            if k != "sources":
                sources[k] = "user: replaced"
        changes.setdefault("sources", sources)
        return dataclasses.replace(self, **changes)

    def to_c(self, c: Any) -> None:
        """Fill an ``ahasd_device`` (marks it present)."""
        c.present = 1
        for f in DEVICE_FIELDS:
            setattr(c, f, getattr(self, f))
        c.units = self.units
        c.has_aau = int(self.has_aau)
        c.aau_ops_per_s = self.aau_ops_per_s
        c.aau_energy_per_op_j = self.aau_energy_per_op_j
        c.switch_s = self.switch_s
        c.roundtrip_s = self.roundtrip_s


_DEVICE_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Device))


@P.strict_init
@dataclass(frozen=True, kw_only=True)
class Hardware(P.CStruct):
    """A platform: up to four devices, shared memory, handoff costs and roles.

    ``npu``, ``pim``, ``gpu``, ``cpu``: a Device or None (absent).
    ``memory_capacity_bytes`` (both models + KV caches must fit; 0: unlimited),
    ``memory_static_w`` (main-memory background power, W), ``contention``
    (NPU memory time x (1 + contention) while the PIM is busy; 0 =
    independent), ``sync_s`` (handoff per verification), ``rollback_s``
    (KV rollback after a rejection).  Roles: ``draft_dev``, ``verify_dev``
    (where serial and autoregressive run), ``nonlinear_host_dev`` (where a PIM
    without AAU ships nonlinear ops), each "npu", "pim", "gpu" or "cpu".

    ``replace`` takes dotted names: ``hw.replace(**{"pim.mem_bw_bytes_per_s": 5e11})``,
    the aliases of docs/DATA.md (``pim.internal_bw``), or a dict per device:
    ``hw.replace(pim={"has_aau": False})``.
    """

    npu: Device | None = None
    pim: Device | None = None
    gpu: Device | None = None
    cpu: Device | None = None
    memory_capacity_bytes: float = 0.0
    memory_static_w: float = 0.0
    contention: float = 0.0
    sync_s: float = 0.0
    rollback_s: float = 0.0
    draft_dev: str = "pim"
    verify_dev: str = "npu"
    nonlinear_host_dev: str = "npu"
    name: str = "custom"
    description: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    kind: ClassVar[str] = "hardware"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for role in ROLES:
            dev = getattr(self, role)
            if dev is not None and not isinstance(dev, Device):
                raise ConfigError(f"Hardware.{role} = {dev!r} is not allowed: must be a "
                                  "Device or None (absent)")
            if dev is not None and role != "pim":
                for f in PIM_FIELDS:
                    if getattr(dev, f):
                        raise ConfigError(f"Hardware.{role}.{f} = {getattr(dev, f)!r} is not "
                                          f"allowed: only the PIM has {f} (must be 0)")
        for f in PLATFORM_FIELDS:
            set_(self, f, P.as_real(getattr(self, f), f"Hardware.{f}"))
        for f in ROLE_FIELDS:
            set_(self, f, P.as_enum(getattr(self, f), f"Hardware.{f}", ROLES))
        P.as_str(self.name, "Hardware.name")
        P.as_str(self.description, "Hardware.description")
        set_(self, "sources", dict(self.sources))
        set_(self, "_c", self._make_c())

    def _make_c(self) -> Any:
        return checked_struct("ahasd_hardware *", self.to_c, lib.ahasd_hardware_validate)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def preset(cls, name: str) -> "Hardware":
        """The hardware preset ``name`` (see ``ahasd.list_presets("hardware")``) or a .toml path."""
        return P.load_preset("hardware", name, cls.from_toml)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Hardware":
        """Load a hardware file strictly (docs/DATA.md)."""
        path = Path(path)
        doc = P.read_toml(path)
        P.check_top_level(doc, ["name", "description", "platform", "roles", *ROLES], path,
                          "section")
        name, description = P.header(doc, path)
        plat, plat_src = P.take_fields(P.section(doc, "platform", path), _PLATFORM_SPECS,
                                       path, "platform")
        roles, role_src = P.take_fields(P.section(doc, "roles", path), _ROLE_SPECS,
                                        path, "roles")
        devices: dict[str, Device | None] = {}
        try:
            for role in ROLES:
                table = P.section(doc, role, path, required=False)
                if table is None:
                    devices[role] = None
                    continue
                specs = _PIM_SPECS if role == "pim" else _DEVICE_SPECS
                if role != "pim":
                    for key in table:
                        if key in PIM_FIELDS:
                            raise ConfigError(f"{path}: [{role}] field '{key}' is not "
                                              "allowed: only [pim] has it")
                vals, src = P.take_fields(table, specs, path, role)
                devices[role] = Device(sources=src, **vals)
            return cls(name=name, description=description, sources={**plat_src, **role_src},
                       **devices, **plat, **roles)
        except ConfigError as exc:
            if str(exc).startswith(str(path)):
                raise
            raise ConfigError(f"{path}: {exc}") from None

    # -------------------------------------------------------------- changes
    @staticmethod
    def canonical(name: str) -> str:
        """The canonical dotted name of ``name`` (aliases resolved)."""
        return ALIASES.get(name, name)

    def replace(self, **changes: Any) -> "Hardware":
        """A copy with ``changes`` applied.

        Keys: platform and role fields (``contention=0.1``), dotted device
        fields (``**{"pim.switch_s": 1e-6}``, aliases allowed), a device slot
        with a Device, None (remove it) or a dict of its fields
        (``pim={"has_aau": False}``).
        """
        top: dict[str, Any] = {}
        per_dev: dict[str, dict[str, Any]] = {}
        sources = dict(self.sources)
        for key, value in changes.items():
            key = self.canonical(key)
            if "." in key:
                role, _, f = key.partition(".")
                if role not in ROLES:
                    raise ConfigError(f"Hardware has no device '{role}' in '{key}'"
                                      f"{P.close_names(role, ROLES)}; devices: {', '.join(ROLES)}")
                if f not in DEVICE_FIELDS + PIM_FIELDS:
                    raise ConfigError(f"Hardware device field '{key}' does not exist"
                                      f"{P.close_names(f, DEVICE_FIELDS + PIM_FIELDS)}")
                per_dev.setdefault(role, {})[f] = value
            elif key in ROLES:
                if isinstance(value, Mapping):
                    per_dev.setdefault(key, {}).update(value)
                else:
                    top[key] = value
            elif key in _HW_FIELD_NAMES:
                top[key] = value
                if key not in ("name", "description", "sources"):
                    sources[key] = "user: replaced"
            else:
                allowed = [*PLATFORM_FIELDS, *ROLE_FIELDS, *ROLES, *ALIASES,
                           *(f"{r}.{f}" for r in ROLES for f in DEVICE_FIELDS)]
                raise ConfigError(f"Hardware has no field '{key}'"
                                  f"{P.close_names(key, allowed)}; fields: "
                                  f"{', '.join([*PLATFORM_FIELDS, *ROLE_FIELDS, *ROLES])}, "
                                  "or <device>.<field>")
        for role, fields in per_dev.items():
            dev = top.get(role, getattr(self, role))
            if dev is None:
                raise ConfigError(f"cannot set {role}.{next(iter(fields))}: hardware "
                                  f"'{self.name}' has no {role} (pass {role}=Device(...))")
            top[role] = P.replace_as(dev, fields, role)
        top.setdefault("sources", sources)
        return dataclasses.replace(self, **top)

    def get(self, name: str) -> Any:
        """The value of a platform, role or dotted device field (aliases allowed)."""
        key = self.canonical(name)
        if "." in key:
            role, _, f = key.partition(".")
            dev = getattr(self, role, None) if role in ROLES else None
            if dev is None or f not in _DEVICE_FIELD_NAMES:
                raise ConfigError(f"hardware '{self.name}' has no field '{name}'")
            return getattr(dev, f)
        if key in _HW_FIELD_NAMES:
            return getattr(self, key)
        raise ConfigError(f"hardware '{self.name}' has no field '{name}'"
                          f"{P.close_names(key, _HW_FIELD_NAMES)}")

    @property
    def devices(self) -> dict[str, Device]:
        """The present devices by role name."""
        return {r: d for r in ROLES if (d := getattr(self, r)) is not None}

    # ------------------------------------------------------------- C side
    def to_c(self, c: Any) -> None:
        """Fill an ``ahasd_hardware`` (absent devices zeroed)."""
        for role in ROLES:
            cdev = c.dev[ROLE_INDEX[role]]
            dev = getattr(self, role)
            if dev is None:
                ffi.memmove(ffi.addressof(cdev), bytes(ffi.sizeof("ahasd_device")),
                            ffi.sizeof("ahasd_device"))
            else:
                dev.to_c(cdev)
        for f in PLATFORM_FIELDS:
            setattr(c, f, getattr(self, f))
        c.draft_dev = ROLE_INDEX[self.draft_dev]
        c.verify_dev = ROLE_INDEX[self.verify_dev]
        c.nonlinear_host_dev = ROLE_INDEX[self.nonlinear_host_dev]

    # ------------------------------------------------------------ printing
    def describe(self) -> str:
        """The resolved platform, every value with its unit and source."""
        lines = [f"hardware {self.name}: {self.description}".rstrip(": ")]
        lines += P.describe_fields("[platform]", [(f, getattr(self, f), self.sources.get(f, ""))
                                                   for f in PLATFORM_FIELDS])
        lines += P.describe_fields("[roles]", [(f, getattr(self, f), self.sources.get(f, ""))
                                               for f in ROLE_FIELDS])
        for role in ROLES:
            dev = getattr(self, role)
            if dev is None:
                continue
            fields = DEVICE_FIELDS + (PIM_FIELDS if role == "pim" else ())
            lines += P.describe_fields(f"[{role}]", [(f, getattr(dev, f), dev.sources.get(f, ""))
                                                     for f in fields])
        absent = [r for r in ROLES if getattr(self, r) is None]
        if absent:
            lines.append(f"absent: {', '.join(absent)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        devs = "+".join(self.devices) or "no devices"
        return f"{self.name} ({devs}; draft on {self.draft_dev}, verify on {self.verify_dev})"


_HW_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Hardware))
