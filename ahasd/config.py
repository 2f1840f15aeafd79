"""Config: one whole design point, and its marshalling into ``ahasd_config``.

A Config names (or holds) the schedule, the hardware, the draft and target
models, the drafting policy, the workload profile or explicit task costs, and
the run parameters.  It is frozen and validated on construction, by Python
(types, names) and then by the C core (``ahasd_config_validate``, the final
word).  The C struct is built once, at construction, and kept with the
object: ``to_c()`` is free, so an estimate costs little more than its C call.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from . import presets as P
from ._native import call, config_defaults, lib
from .costs import TaskCosts
from .errors import ConfigError
from .hardware import (ALIASES, DEVICE_FIELDS, PIM_FIELDS, PLATFORM_FIELDS, ROLE_FIELDS, ROLES,
                       Hardware)
from .model import Model
from .policy import DEFAULT_KIND, FAMILY_PARAMS, POLICY_KINDS, POLICY_PARAMS, Policy
from .workload import Workload

__all__ = ["Config", "SCHEDULES", "TVC_PREDICTORS", "DEFAULTS"]

#: Schedule names users type, in the order of AHASD_SCHED_*.
SCHEDULES: tuple[str, ...] = ("autoregressive", "serial", "sync", "partitioned", "async",
                              "async-edc", "ahasd")
#: TVC latency predictors of the simulator, in the order of AHASD_TVC_*.
TVC_PREDICTORS: tuple[str, ...] = ("moving-average", "exact")

#: Library defaults of the presets a Config falls back to.
DEFAULTS: dict[str, str] = {"schedule": "ahasd", "hardware": "ahasd-npu-pim",
                            "draft": "llama2-7b", "target": "llama2-13b", "workload": "alpaca"}


_CD = config_defaults()
_RUN_INTS = ("prompt_len", "gen_len", "l_max", "m_max", "k_design", "segments")
_COSTS_SHARED = ("sync_s", "rollback_s", "switch_s")
_WORKLOAD_SCALARS = ("h_max", "position_decay", "pred_scale", "buckets")


def _resolve(value: Any, cls: type, field: str) -> Any:
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, str):
        return cls.preset(value)  # type: ignore[attr-defined]
    raise ConfigError(f"{field} = {value!r} is not allowed: must be a preset name, a .toml "
                      f"path or an ahasd.{cls.__name__}")


@P.strict_init
@dataclass(frozen=True, kw_only=True)
class Config(P.CStruct):
    """The whole design point.

    schedule: "autoregressive", "serial", "sync", "partitioned", "async",
        "async-edc" or "ahasd" (default "ahasd").
    hardware: Hardware or preset name (default "ahasd-npu-pim"; None with
        ``costs``: no hardware, PIM drafts and NPU verifies).
    draft, target: Model or preset name (defaults "llama2-7b", "llama2-13b";
        not needed with ``costs``).
    policy: Policy or policy name (default fixed k = 4).
    workload: Workload or preset name (default "alpaca").
    costs: TaskCosts to replace the hardware cost model (quick what-ifs).
    prompt_len: tokens already in the KV caches (P); gen_len: tokens
        generated (N); l_max: async queue capacity in batches; m_max: most
        tokens per pre-verification; k_design: partitioned design draft
        length (0: the policy's mean); segments: context segments of an
        analytical run; tvc_predictor: "moving-average" or "exact" (simulator).

    ``Config.build(alpha=0.8, k=5, ...)`` takes the keywords of
    :func:`ahasd.estimate`; ``replace()`` takes dotted names of any field
    ("pim.mem_bw_bytes_per_s", "target.weight_bytes", "svip_h", "alpha").
    """

    schedule: str = DEFAULTS["schedule"]
    hardware: Hardware | str | None = None
    draft: Model | str | None = None
    target: Model | str | None = None
    policy: Policy | str | None = None
    workload: Workload | str | None = None
    costs: TaskCosts | None = None
    prompt_len: int = _CD.prompt_len
    gen_len: int = _CD.gen_len
    l_max: int = _CD.l_max
    m_max: int = _CD.m_max
    k_design: int = _CD.k_design
    segments: int = _CD.segments
    tvc_predictor: str = TVC_PREDICTORS[_CD.tvc_predictor]

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "schedule", P.as_enum(self.schedule, "schedule", SCHEDULES))
        costs = self.costs
        if isinstance(costs, dict):
            costs = TaskCosts(**costs)
        if costs is not None and not isinstance(costs, TaskCosts):
            raise ConfigError(f"costs = {costs!r} is not allowed: must be an ahasd.TaskCosts "
                              "or None")
        set_(self, "costs", costs)
        explicit = costs is not None
        hw = _resolve(self.hardware, Hardware, "hardware")
        if hw is None and not explicit:
            hw = Hardware.preset(DEFAULTS["hardware"])
        set_(self, "hardware", hw)
        for f in ("draft", "target"):
            m = _resolve(getattr(self, f), Model, f)
            if m is None and not explicit:
                m = Model.preset(DEFAULTS[f])
            set_(self, f, m)
        set_(self, "policy", Policy.of(self.policy))
        wl = _resolve(self.workload, Workload, "workload")
        set_(self, "workload", wl if wl is not None else Workload.preset(DEFAULTS["workload"]))
        for f in _RUN_INTS:
            set_(self, f, P.as_cint(getattr(self, f), f))
        set_(self, "tvc_predictor", P.as_enum(self.tvc_predictor, "tvc_predictor",
                                              TVC_PREDICTORS))
        set_(self, "_c", self._make_c())

    # ------------------------------------------------------------- C side
    def _make_c(self) -> Any:
        c = config_defaults()
        c.schedule = SCHEDULES.index(self.schedule)
        if self.hardware is not None:
            c.hw = self.hardware.cstruct()[0]
        if self.draft is not None:
            c.draft = self.draft.cstruct()[0]
        if self.target is not None:
            c.target = self.target.cstruct()[0]
        if self.costs is not None:
            c.use_explicit_costs = 1
            c.costs = self.costs.cstruct()[0]
        c.profile = self.workload.cstruct()[0]
        c.policy = self.policy.cstruct()[0]
        for f in _RUN_INTS:
            setattr(c, f, getattr(self, f))
        c.tvc_predictor = TVC_PREDICTORS.index(self.tvc_predictor)
        call(lib.ahasd_config_validate, c)
        return c

    def to_c(self) -> Any:
        """The ``ahasd_config *`` of this design point, built once and cached.

        Owned by the Config: do not modify it (copy it with
        ``ffi.new("ahasd_config *", cfg.to_c()[0])`` to experiment).
        """
        return self.cstruct()

    # ------------------------------------------------------------- building
    @classmethod
    def build(cls, *, config: "Config | None" = None, alpha: float | None = None,
              **kw: Any) -> "Config":
        """A Config from the keywords of :func:`ahasd.estimate`.

        Besides the fields: ``alpha`` (an i.i.d. profile instead of a
        workload), ``k`` and every policy parameter by its field name
        (``svip_h=0.5``), dotted names as in ``replace``.  With ``config``,
        the keywords change that configuration.  A parameter of another
        policy than the one chosen is an error (``svip_h`` with ``policy="fixed"``).
        """
        kw = {k: v for k, v in kw.items() if v is not None}
        if config is not None:
            if not isinstance(config, Config):
                raise ConfigError(f"config = {config!r} is not allowed: must be an ahasd.Config")
            if alpha is not None:
                kw["alpha"] = alpha
            return config.replace(**kw) if kw else config
        params = {k: kw.pop(k) for k in list(kw) if k in POLICY_PARAMS}
        dotted = {k: kw.pop(k) for k in list(kw) if k not in _FIELD_NAMES}
        policy = kw.pop("policy", None)
        kind = policy.kind if isinstance(policy, Policy) else (policy or DEFAULT_KIND)
        if isinstance(kind, str) and kind in POLICY_KINDS:
            for p in params:
                owner = next((o for o, ps in FAMILY_PARAMS.items() if p in ps), None)
                if owner is not None and owner != kind:
                    raise ConfigError(f"{p} is a parameter of policy '{owner}', but the policy "
                                      f"is '{kind}' (choose policy '{owner}' to use it)")
        kw["policy"] = Policy.of(policy, **params)
        if alpha is not None:
            if kw.get("workload") is not None:
                raise ConfigError("give either alpha (an i.i.d. acceptance profile) or "
                                  "workload, not both")
            kw["workload"] = Workload.iid(alpha)
        cfg = cls(**kw)
        return cfg.replace(**dotted) if dotted else cfg

    def replace(self, **changes: Any) -> "Config":
        """A copy with ``changes`` applied.

        Keys: any field; ``alpha`` (i.i.d. profile); a policy parameter
        (``k``, ``svip_h``, ... or ``policy.k``); a model field
        (``draft.layers``, ``target.weight_bytes``); a hardware field
        (``pim.mem_bw_bytes_per_s``, its aliases ``pim.internal_bw``,
        ``npu.offchip_bw_bytes_per_s``, ``contention``, ``hardware.sync_s``,
        ``hw.sync_s``); a workload field (``workload.position_decay``); a
        task-cost field (``costs.draft_token_s``).  ``sync_s``,
        ``rollback_s`` and ``switch_s`` go to the explicit costs when the
        configuration has them, else to the hardware.
        """
        top: dict[str, Any] = {}
        pol: dict[str, Any] = {}
        hw: dict[str, Any] = {}
        models: dict[str, dict[str, Any]] = {"draft": {}, "target": {}}
        wl: dict[str, Any] = {}
        costs: dict[str, Any] = {}
        for key, value in changes.items():
            where, name = self._route(key)
            if where == "top":
                top[name] = value
            elif where == "alpha":
                top["workload"] = Workload.iid(value)
            elif where == "policy":
                pol[name] = value
            elif where == "hardware":
                hw[name] = value
            elif where in ("draft", "target"):
                models[where][name] = value
            elif where == "workload":
                wl[name] = value
            elif where == "costs":
                costs[name] = value
        if pol or "policy" in top:
            top["policy"] = Policy.of(top.get("policy", self.policy), **pol)
        if hw:
            base = _resolve(top.get("hardware", self.hardware), Hardware, "hardware")
            if base is None:
                raise ConfigError(f"cannot set {next(iter(hw))}: this configuration has no "
                                  "hardware (it uses explicit task costs)")
            top["hardware"] = base.replace(**hw)
        for which, ch in models.items():
            if ch:
                base = _resolve(top.get(which, getattr(self, which)), Model, which)
                if base is None:
                    raise ConfigError(f"cannot set {which}.{next(iter(ch))}: this "
                                      f"configuration has no {which} model")
                top[which] = P.replace_as(base, ch, which)
        if wl:
            base = _resolve(top.get("workload", self.workload), Workload, "workload")
            top["workload"] = base.replace(**wl)
        if costs:
            base = top.get("costs", self.costs)
            if base is None:
                raise ConfigError(f"cannot set costs.{next(iter(costs))}: this configuration "
                                  "has no explicit task costs (pass costs=TaskCosts(...))")
            top["costs"] = (TaskCosts(**base) if isinstance(base, dict) else base).replace(**costs)
        return dataclasses.replace(self, **top)

    def _route(self, key: str) -> tuple[str, str]:
        """Where a replace() key goes: (part, field name within it)."""
        if key == "alpha":
            return "alpha", key
        if key in _FIELD_NAMES:
            return "top", key
        if key in POLICY_PARAMS:
            return "policy", key
        if key in _COSTS_SHARED:
            return ("costs", key) if self.costs is not None else ("hardware", key)
        if key in PLATFORM_FIELDS or key in ROLE_FIELDS or key in ALIASES:
            return "hardware", key
        if key in _WORKLOAD_SCALARS:
            return "workload", key
        head, dot, rest = key.partition(".")
        if dot:
            if head == "policy" and rest in POLICY_PARAMS:
                return "policy", rest
            if head in ("hardware", "hw"):
                return "hardware", rest
            if head in ROLES:
                return "hardware", key
            if head in ("draft", "target"):
                return head, rest
            if head in ("workload", "profile"):
                return "workload", rest
            if head == "costs":
                return "costs", rest
        raise ConfigError(f"Config has no parameter '{key}'{P.close_names(key, _KNOWN)}; "
                          "use a field name (" + ", ".join(_FIELD_NAMES) + "), alpha, a policy "
                          "parameter (k, svip_h, ...), <device>.<field> (pim.switch_s), a "
                          "platform field (contention), draft.<field>, target.<field>, "
                          "workload.<field> or costs.<field>")

    def get(self, name: str) -> Any:
        """The value behind any name ``replace`` accepts (e.g. "pim.internal_bw", "k")."""
        where, f = self._route(name)
        if where == "top":
            return getattr(self, f)
        if where == "alpha":
            if self.workload.buckets != 1:
                raise ConfigError(f"workload '{self.workload.name}' is not i.i.d.: it has no "
                                  "single alpha")
            return self.workload.accept[0]
        if where == "policy":
            return getattr(self.policy, f)
        if where == "hardware":
            if self.hardware is None:
                raise ConfigError(f"this configuration has no hardware ({name})")
            return self.hardware.get(f)
        part = getattr(self, where)
        if part is None:
            raise ConfigError(f"this configuration has no {where} ({name})")
        if where == "costs":
            return part.get(f)
        if not hasattr(part, f) or f in ("sources", "fit"):
            raise ConfigError(f"{where} has no field '{f}'")
        return getattr(part, f)

    # ------------------------------------------------------------- printing
    @property
    def hardware_name(self) -> str:
        return self.hardware.name if self.hardware is not None else "explicit costs"

    @property
    def draft_name(self) -> str:
        return self.draft.name if self.draft is not None else "-"

    @property
    def target_name(self) -> str:
        return self.target.name if self.target is not None else "-"

    @property
    def label(self) -> str:
        """A one-line summary: schedule | hardware | draft -> target | policy | workload."""
        models = (f"{self.draft_name} -> {self.target_name}" if self.schedule != "autoregressive"
                  else self.target_name)
        if self.costs is not None:
            models = "explicit costs"
        pol = "" if self.schedule == "autoregressive" else f" | {self.policy}"
        hw = self.hardware_name if self.hardware is not None else "no hardware"
        return f"{self.schedule} | {hw} | {models}{pol} | {self.workload.name}"

    def describe(self) -> str:
        """The resolved design point (run parameters, then each part with its sources)."""
        lines = [f"configuration: {self.label}"]
        run = [(f, getattr(self, f), "") for f in ("schedule", *_RUN_INTS, "tvc_predictor")]
        lines += P.describe_fields("run:", run)
        lines.append(f"policy: {self.policy}")
        if self.costs is not None:
            lines.append(self.costs.describe())
        if self.hardware is not None:
            lines.append(self.hardware.describe())
        for m in (self.draft, self.target):
            if m is not None:
                lines.append(m.describe())
        lines.append(self.workload.describe())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        def part(obj: Any) -> str:
            return repr(obj.name) if hasattr(obj, "name") else repr(obj)

        run = ", ".join(f"{f}={getattr(self, f)!r}" for f in (*_RUN_INTS, "tvc_predictor"))
        costs = f", costs={self.costs}" if self.costs is not None else ""
        return (f"Config(schedule={self.schedule!r}, hardware={part(self.hardware)}, "
                f"draft={part(self.draft)}, target={part(self.target)}, policy={self.policy}, "
                f"workload={part(self.workload)}{costs}, {run})")


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Config))
_KNOWN = (*_FIELD_NAMES, "alpha", *POLICY_PARAMS, *PLATFORM_FIELDS, *ROLE_FIELDS, *ALIASES,
          *_WORKLOAD_SCALARS,
          *(f"{r}.{f}" for r in ROLES for f in DEVICE_FIELDS + PIM_FIELDS))
