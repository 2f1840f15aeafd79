"""Model: the shape and precision of a decoder-only LLM (layer 1 of MODEL.md).

Field names are the TOML keys of ``data/models/*.toml`` and the fields of the
C struct ``ahasd_model``.  Sizes are in elements; ``*_bytes`` are bytes per
element (INT8 = 1, INT4 = 0.5, FP16 = 2).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from . import presets as P
from ._native import call, checked_struct, ffi, lib
from .errors import ConfigError

__all__ = ["Model", "PRECISION_BYTES"]

FFN_KINDS = ("plain", "gated")
ACT_KINDS = ("relu", "gelu", "silu")
NORM_KINDS = ("layernorm", "rmsnorm")

#: Bytes per element of the precisions ``Model.with_precision`` knows.
PRECISION_BYTES: dict[str, float] = {
    "int4": 0.5, "fp4": 0.5, "int8": 1.0, "fp8": 1.0, "fp16": 2.0, "bf16": 2.0, "fp32": 4.0,
}

_INT_FIELDS = ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "vocab")
_REAL_FIELDS = ("weight_bytes", "kv_bytes", "act_bytes")
_TOML_SPECS: dict[str, P.Spec] = {
    "layers": P.INT, "hidden": P.INT, "heads": P.INT, "kv_heads": P.INT, "head_dim": P.INT,
    "ffn": P.INT, "ffn_kind": P.choice(*FFN_KINDS), "act_kind": P.choice(*ACT_KINDS),
    "norm_kind": P.choice(*NORM_KINDS), "vocab": P.INT, "tied_embeddings": P.BOOL,
    "weight_bytes": P.REAL, "kv_bytes": P.REAL, "act_bytes": P.REAL,
}


@P.strict_init
@dataclass(frozen=True, kw_only=True)
class Model(P.CStruct):
    """A decoder-only transformer.

    layers, hidden, heads, kv_heads (GQA when < heads; None: = heads),
    head_dim (0: hidden / heads), ffn (FFN inner width), ffn_kind
    ("plain": up, act, down; "gated": gate, up, act x up, down), act_kind
    ("relu", "gelu", "silu"), norm_kind ("layernorm", "rmsnorm"), vocab,
    tied_embeddings (LM head reuses the embedding), weight_bytes, kv_bytes,
    act_bytes (bytes per element).  ``sources`` maps a field to where its
    value came from ("source: ...", "assumption: ..." or "user: ...").
    """

    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    kv_heads: int | None = None
    head_dim: int = 0
    ffn_kind: str = "gated"
    act_kind: str = "silu"
    norm_kind: str = "rmsnorm"
    tied_embeddings: bool = False
    weight_bytes: float = 1.0
    kv_bytes: float = 1.0
    act_bytes: float = 1.0
    name: str = "custom"
    description: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    kind: ClassVar[str] = "models"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.kv_heads is None:
            set_(self, "kv_heads", self.heads)
        for f in _INT_FIELDS:
            set_(self, f, P.as_cint(getattr(self, f), f"{self._label}.{f}"))
        for f in _REAL_FIELDS:
            set_(self, f, P.as_real(getattr(self, f), f"{self._label}.{f}"))
        for f, names in (("ffn_kind", FFN_KINDS), ("act_kind", ACT_KINDS),
                         ("norm_kind", NORM_KINDS)):
            set_(self, f, P.as_enum(getattr(self, f), f"{self._label}.{f}", names))
        set_(self, "tied_embeddings",
             P.as_bool(self.tied_embeddings, f"{self._label}.tied_embeddings"))
        P.as_str(self.name, "Model.name")
        P.as_str(self.description, "Model.description")
        if not isinstance(self.sources, dict):
            raise ConfigError(f"{self._label}.sources must be a dict field -> text")
        set_(self, "sources", dict(self.sources))
        set_(self, "_c", self._make_c())

    def _make_c(self) -> Any:
        return checked_struct("ahasd_model *", self.to_c, lib.ahasd_model_validate,
                              (self._label + ".").encode())

    _label: ClassVar[str] = "Model"

    # ------------------------------------------------------------------ I/O
    @classmethod
    def preset(cls, name: str) -> "Model":
        """The model preset ``name`` (see ``ahasd.list_presets("models")``) or a .toml path."""
        return P.load_preset("models", name, cls.from_toml)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Model":
        """Load a model file strictly (docs/DATA.md)."""
        path = Path(path)
        doc = P.read_toml(path)
        P.check_top_level(doc, ["name", "description", *_TOML_SPECS], path)
        name, description = P.header(doc, path)
        values, sources = P.take_fields(doc, _TOML_SPECS, path, ignore=("name", "description"))
        try:
            return cls(name=name, description=description, sources=sources, **values)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def replace(self, **changes: Any) -> "Model":
        """A copy with ``changes`` applied (field names as in the TOML files)."""
        bad = [k for k in changes if k not in _FIELD_NAMES]
        if bad:
            raise ConfigError(f"Model has no field '{bad[0]}'{P.close_names(bad[0], _FIELD_NAMES)}"
                              f"; fields: {', '.join(_FIELD_NAMES)}")
        sources = dict(self.sources)
        for k in changes:
            if k not in ("name", "description", "sources"):
                sources[k] = "user: replaced"
        changes.setdefault("sources", sources)
        return dataclasses.replace(self, **changes)

    def with_precision(self, precision: str, *, kv: str | None = None,
                       act: str | None = None) -> "Model":
        """The same model at another precision ("int4", "int8", "fp8", "fp16", "bf16", "fp32").

        ``precision`` sets the weights, and the KV cache and activations unless
        ``kv`` / ``act`` name their own precision.  The name gets a suffix,
        e.g. "llama2-7b-int4".
        """
        def nbytes(p: str | None, what: str) -> float:
            P.as_choice(p, what, tuple(PRECISION_BYTES))
            return PRECISION_BYTES[p]  # type: ignore[index]

        w = nbytes(precision, "precision")
        k = nbytes(kv, "kv") if kv is not None else w
        a = nbytes(act, "act") if act is not None else w
        base = self.name
        for suffix in PRECISION_BYTES:
            if base.endswith("-" + suffix):
                base = base[: -len(suffix) - 1]
        return self.replace(weight_bytes=w, kv_bytes=k, act_bytes=a,
                            name=f"{base}-{precision}")

    # ------------------------------------------------------------ C side
    def to_c(self, c: Any) -> None:
        """Fill an ``ahasd_model`` (cdata struct or pointer)."""
        c.layers = self.layers
        c.hidden = self.hidden
        c.heads = self.heads
        c.kv_heads = self.kv_heads
        c.head_dim = self.head_dim
        c.ffn = self.ffn
        c.ffn_kind = FFN_KINDS.index(self.ffn_kind)
        c.act_kind = ACT_KINDS.index(self.act_kind)
        c.norm_kind = NORM_KINDS.index(self.norm_kind)
        c.vocab = self.vocab
        c.tied_embeddings = int(self.tied_embeddings)
        c.weight_bytes = self.weight_bytes
        c.kv_bytes = self.kv_bytes
        c.act_bytes = self.act_bytes

    def _size(self) -> tuple[float, float]:
        c = self.cstruct()
        params = ffi.new("double *")
        wbytes = ffi.new("double *")
        call(lib.ahasd_model_size, c, params, wbytes)
        return params[0], wbytes[0]

    @property
    def params(self) -> float:
        """Number of weights (parameters), as the C cost model counts them."""
        return self._size()[0]

    @property
    def weight_total_bytes(self) -> float:
        """Bytes of all weights at ``weight_bytes`` per weight."""
        return self._size()[1]

    # --------------------------------------------------------- printing
    def describe(self) -> str:
        """The resolved model, every field with its source."""
        params, wbytes = self._size()
        rows = [(f, getattr(self, f), self.sources.get(f, "")) for f in _TOML_SPECS]
        lines = [f"model {self.name}: {self.description}".rstrip(": ")]
        lines += P.describe_fields("fields:", rows)[1:]
        lines.append(f"  -> {params / 1e9:.3f} G parameters, weights "
                     f"{P.format_si(wbytes, 'B')}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"{self.name} ({self.layers} layers, d={self.hidden}, {self.heads} heads, "
                f"{self.weight_bytes:g} B/weight)")


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Model))
