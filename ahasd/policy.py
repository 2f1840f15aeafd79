"""Policy: how many tokens the draft model drafts per batch (layer 3 of MODEL.md).

After each drafted token the policy decides whether the batch ends, never
before ``k_min`` tokens and always at ``k_max``:

- ``fixed``: K = k.
- ``svip``: stop when sqrt(svip_c * H) > svip_h (H: entropy of the token, nats).
- ``adaedl``: stop when 1 - sqrt(adaedl_gamma * H) < adaedl_lambda.
- ``specdecpp``: stop when 1 - prod p_hat_i > specdecpp_tau (p_hat the predicted
  acceptance; the product in fixed point with ``specdecpp_grid`` steps).
- ``banditspec``: UCB over draft lengths ``arms`` (exploration
  ``bandit_explore``; ``bandit_cost_ratio`` = draft / verify cost, <= 0:
  taken from the task costs).
- ``tree``: a token tree of ``tree_depth`` levels, ``tree_branch[d]``
  candidates per node at depth d (one number: the same at every depth),
  ``tree_prune`` the fraction of its nodes removed before verification,
  lowest path probability first (draft token pruning).  One DLM pass per
  level, one TLM pass over the kept nodes; the law of the accepted depth
  is docs/MODEL.md's "Tree drafting".  Serial, sync and autoregressive
  schedules only.

Defaults are the C library's (``ahasd_config_default``); field names are the
fields of the C struct ``ahasd_policy``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import KW_ONLY, dataclass
from functools import lru_cache
from typing import Any

from . import presets as P
from ._native import checked_struct, config_defaults, lib
from .errors import ConfigError

__all__ = ["Policy", "POLICY_KINDS", "POLICY_PARAMS", "FAMILY_PARAMS"]

#: Policy names users type, in the order of AHASD_POLICY_*.
POLICY_KINDS: tuple[str, ...] = ("fixed", "svip", "adaedl", "specdecpp", "banditspec", "tree")
#: Parameters that belong to one policy (the rest, k/k_min/k_max, are shared).
FAMILY_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("k",),
    "svip": ("svip_h", "svip_c"),
    "adaedl": ("adaedl_gamma", "adaedl_lambda"),
    "specdecpp": ("specdecpp_tau", "specdecpp_grid"),
    "banditspec": ("arms", "bandit_explore", "bandit_cost_ratio"),
    "tree": ("tree_depth", "tree_branch", "tree_prune"),
}
MAX_ARMS: int = lib.AHASD_MAX_ARMS
MAX_TREE_DEPTH: int = lib.AHASD_MAX_TREE_DEPTH
MAX_TREE_NODES: int = lib.AHASD_MAX_TREE_NODES
#: Tree defaults (the C defaults leave the tree empty): a binary tree of
#: depth 4 (30 nodes), no pruning.
TREE_DEFAULTS: dict[str, Any] = {"tree_depth": 4, "tree_branch": (2,), "tree_prune": 0.0}


_CD = config_defaults()   # owns the struct _D points into: keep it alive
_D = _CD.policy


@dataclass(frozen=True)
class Policy(P.CStruct):
    """A drafting policy: ``Policy("svip", svip_h=0.5)``, ``Policy("fixed", k=6)``.

    Every parameter is kept whatever the kind (only the kind's own are used),
    so a policy can be switched with ``replace(kind=...)``.
    """

    kind: str = POLICY_KINDS[_D.kind]
    _: KW_ONLY
    k: int = _D.k
    k_min: int = _D.k_min
    k_max: int = _D.k_max
    svip_h: float = _D.svip_h
    svip_c: float = _D.svip_c
    adaedl_gamma: float = _D.adaedl_gamma
    adaedl_lambda: float = _D.adaedl_lambda
    specdecpp_tau: float = _D.specdecpp_tau
    specdecpp_grid: int = _D.specdecpp_grid
    arms: tuple[int, ...] = tuple(_D.arms[i] for i in range(_D.n_arms))
    bandit_explore: float = _D.bandit_explore
    bandit_cost_ratio: float = _D.bandit_cost_ratio
    tree_depth: int = TREE_DEFAULTS["tree_depth"]
    tree_branch: tuple[int, ...] = TREE_DEFAULTS["tree_branch"]
    tree_prune: float = TREE_DEFAULTS["tree_prune"]

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "kind", P.as_enum(self.kind, "Policy.kind", POLICY_KINDS))
        for f in ("k", "k_min", "k_max", "specdecpp_grid", "tree_depth"):
            set_(self, f, P.as_cint(getattr(self, f), f"Policy.{f}"))
        for f in ("svip_h", "svip_c", "adaedl_gamma", "adaedl_lambda", "specdecpp_tau",
                  "bandit_explore", "bandit_cost_ratio", "tree_prune"):
            set_(self, f, P.as_real(getattr(self, f), f"Policy.{f}"))
        arms = self.arms
        if isinstance(arms, (str, bytes)) or not hasattr(arms, "__iter__"):
            raise ConfigError(f"Policy.arms = {arms!r} is not allowed: must be a sequence of "
                              "draft lengths")
        arms = tuple(P.as_cint(a, f"Policy.arms[{i}]") for i, a in enumerate(arms))
        if not 1 <= len(arms) <= MAX_ARMS:
            raise ConfigError(f"Policy.arms has {len(arms)} arms: must have 1 to {MAX_ARMS}")
        set_(self, "arms", arms)
        set_(self, "tree_branch", self._tree_branch())
        set_(self, "_c", self._make_c())

    def _tree_branch(self) -> tuple[int, ...]:
        """tree_branch as a tuple of tree_depth ints (one number: every depth)."""
        tb = self.tree_branch
        if isinstance(tb, bool):
            raise ConfigError(f"Policy.tree_branch = {tb!r} is not allowed: must be an integer "
                              "or a sequence of integers")
        if not isinstance(tb, (str, bytes)) and not hasattr(tb, "__iter__"):
            tb = (tb,)
        if isinstance(tb, (str, bytes)):
            raise ConfigError(f"Policy.tree_branch = {tb!r} is not allowed: must be an integer "
                              "or a sequence of integers")
        tb = tuple(P.as_cint(b, f"Policy.tree_branch[{i}]") for i, b in enumerate(tb))
        depth = self.tree_depth
        if len(tb) >= 1 and len(set(tb)) == 1 and 1 <= depth <= MAX_TREE_DEPTH:
            tb = tb[:1] * depth      # one factor (or a uniform tree): every depth
        if self.kind == "tree" and len(tb) != depth:
            raise ConfigError(f"Policy.tree_branch has {len(tb)} entries but tree_depth = "
                              f"{depth}: give one branching factor per depth, or a single one "
                              "for every depth")
        if len(tb) > MAX_TREE_DEPTH:
            raise ConfigError(f"Policy.tree_branch has {len(tb)} entries: at most "
                              f"{MAX_TREE_DEPTH} (AHASD_MAX_TREE_DEPTH)")
        return tb

    @property
    def tree_nodes(self) -> int:
        """Nodes of the tree (drafted per round), before pruning."""
        n, prod = 0, 1
        for b in self.tree_branch[: self.tree_depth]:
            prod *= b
            n += prod
        return n

    @property
    def tree_kept(self) -> int:
        """Nodes verified per round after pruning: n - floor(tree_prune n)."""
        import math
        n = self.tree_nodes
        return n - min(n - 1, math.floor(self.tree_prune * n))

    def _make_c(self) -> Any:
        return checked_struct("ahasd_policy *", self.to_c, lib.ahasd_policy_validate)

    @classmethod
    def of(cls, spec: "Policy | str | None", **params: Any) -> "Policy":
        """A Policy from a Policy, a kind name or None (the default), with ``params`` set."""
        if isinstance(spec, Policy):
            return spec.replace(**params) if params else spec
        if spec is None or (isinstance(spec, (str, int, float)) and not isinstance(spec, bool)):
            try:
                key = (spec, tuple(sorted(params.items())))
                hash(key)
            except TypeError:          # unhashable parameter values (e.g. a list of arms)
                return cls(**params) if spec is None else cls(spec, **params)
            return _cached_policy(key)
        raise ConfigError(f"policy = {spec!r} is not allowed: must be a Policy or one of "
                          f"{', '.join(POLICY_KINDS)}")

    def replace(self, **changes: Any) -> "Policy":
        """A copy with ``changes`` applied."""
        bad = [k for k in changes if k not in POLICY_FIELDS]
        if bad:
            raise ConfigError(f"Policy has no field '{bad[0]}'"
                              f"{P.close_names(bad[0], POLICY_FIELDS)}; fields: "
                              f"{', '.join(POLICY_FIELDS)}")
        return dataclasses.replace(self, **changes)

    def to_c(self, c: Any) -> None:
        """Fill an ``ahasd_policy``."""
        c.kind = POLICY_KINDS.index(self.kind)
        c.k = self.k
        c.k_min = self.k_min
        c.k_max = self.k_max
        c.svip_h = self.svip_h
        c.svip_c = self.svip_c
        c.adaedl_gamma = self.adaedl_gamma
        c.adaedl_lambda = self.adaedl_lambda
        c.specdecpp_tau = self.specdecpp_tau
        c.specdecpp_grid = self.specdecpp_grid
        c.n_arms = len(self.arms)
        c.arms = list(self.arms) + [0] * (MAX_ARMS - len(self.arms))
        c.bandit_explore = self.bandit_explore
        c.bandit_cost_ratio = self.bandit_cost_ratio
        c.tree_depth = self.tree_depth
        tb = list(self.tree_branch[:MAX_TREE_DEPTH])
        c.tree_branch = tb + [0] * (MAX_TREE_DEPTH - len(tb))
        c.tree_prune = self.tree_prune

    @property
    def params(self) -> dict[str, Any]:
        """The parameters this kind uses (k_min/k_max for the adaptive ones)."""
        own = FAMILY_PARAMS[self.kind]
        shared = () if self.kind in ("fixed", "tree") else (
            ("k_min", "k_max") if self.kind != "banditspec" else ())
        return {f: getattr(self, f) for f in (*own, *shared)}

    def __str__(self) -> str:
        ps = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.kind}({ps})"


@lru_cache(maxsize=1024)
def _cached_policy(key: tuple[Any, tuple[tuple[str, Any], ...]]) -> Policy:
    """Policies are immutable: equal arguments share one validated instance."""
    spec, params = key
    return Policy(**dict(params)) if spec is None else Policy(spec, **dict(params))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "(" + ",".join(str(a) for a in v) + ")"
    return str(v)


POLICY_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Policy))  # kind first
#: The kind of ``Policy()``.
DEFAULT_KIND: str = POLICY_KINDS[_D.kind]
#: Every policy parameter (all fields but ``kind``).
POLICY_PARAMS: tuple[str, ...] = POLICY_FIELDS[1:]
