"""``Form``: burned fraction per month = scale x prod_i term_i.

A term is a library mechanism (:class:`MechanismTerm`, by id, with an optional alias when the
same mechanism appears twice) or a :class:`NewTerm` written in the safe expression language
(:mod:`fireform.forms.expr`) with named bounded parameters, a rationale and references.

Canonical JSON (what baselines and the journal store)::

    {"name": ..., "description": ..., "references": [...],
     "scale": {"lo": 1e-5, "hi": 1.0, "log": true, "default": ...},
     "terms": [{"mechanism": "<id>", "alias": "<optional>"}
               | {"name": ..., "expression": ..., "params": [{"name", "lo", "hi", "units",
                  "description", "log", "default"}], "rationale": ..., "references": [...]}],
     "defaults": {"<term_id>.<param>": value}}

Terms are sorted by id, so two forms that multiply the same terms are equal and hash alike.
:attr:`Form.hash` is the first 12 hex digits of the sha256 of the canonical JSON of the *math*
only (scale bounds; mechanism ids and aliases; new-term names, canonical expression text and
parameter bounds/log flags). Name, description, references, rationale and defaults do not enter it.

Parameter layout (:attr:`Form.params`): ``scale`` first, then each term in id order, its
parameters in declared order, named ``"<term_id>.<param>"``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from fireform.drivers import Drivers, add_derived, catalog
from fireform.exceptions import FormError, UnknownNameError
from fireform.forms import expr as ex
from fireform.forms.terms import Bounds, MechanismTerm, NewTerm, ParamSpec, Scale, Term, default_registry
from fireform.mechanisms import Registry

__all__ = ["Form", "MechanismTerm", "NewTerm", "Term", "Scale", "ParamSpec", "Bounds", "default_registry",
           "params_of"]


def params_of(params: Mapping[str, Any], term_ids: Iterable[str]) -> dict[str, Any]:
    """The scale and the parameters of the terms ``term_ids`` in a parameter mapping (names are
    ``scale`` and ``{term}.{param}``, :meth:`Form.params`): a fit's values restricted to a sub-form,
    e.g. as the warm start of a form that keeps those terms."""
    keep = set(term_ids)
    return {k: v for k, v in params.items() if k == "scale" or k.split(".", 1)[0] in keep}

_TERM_KEYS = {"mechanism", "alias", "name", "expression", "params", "rationale", "references", "notes"}


@dataclass(frozen=True, eq=False)
class Form:
    """scale x prod(terms). Terms are kept sorted by id, so construction order does not matter."""

    terms: tuple[Term, ...]
    scale: Scale = field(default_factory=Scale)
    name: str = ""
    description: str = ""
    references: tuple[str, ...] = ()
    defaults: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        terms = tuple(sorted(self.terms, key=lambda t: t.id))
        ids = [t.id for t in terms]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise FormError(
                f"form {self.name!r}: duplicate term ids {dup}; give a repeated mechanism an alias"
            )
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "references", tuple(self.references))
        defaults = dict(self.defaults.items() if isinstance(self.defaults, Mapping) else self.defaults)
        specs = {s.name: s for s in self._layout()}
        for k, v in defaults.items():
            if k not in specs:
                raise FormError(
                    f"form {self.name!r}: default for unknown parameter {k!r}; "
                    f"parameters: {', '.join(specs)}"
                )
            s = specs[k]
            if not s.lo <= float(v) <= s.hi:
                raise FormError(
                    f"form {self.name!r}: default {k} = {v} outside its bounds [{s.lo}, {s.hi}]"
                )
        object.__setattr__(
            self, "defaults", tuple(sorted((k, float(v)) for k, v in defaults.items()))
        )

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: Mapping | str, *, registry: Registry | None = None) -> "Form":
        """Build from the JSON shape in the module docstring (a dict or JSON text)."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as e:
                raise FormError(f"form JSON is not valid JSON: {e}") from None
        if not isinstance(data, Mapping):
            raise FormError(f"a form must be a JSON object, got {type(data).__name__}")
        reg = registry if registry is not None else default_registry()
        name = str(data.get("name", ""))
        terms: list[Term] = []
        raw_terms = data.get("terms")
        if not isinstance(raw_terms, list):
            raise FormError(f"form {name!r}: 'terms' must be a list")
        for i, t in enumerate(raw_terms):
            if not isinstance(t, Mapping):
                raise FormError(f"form {name!r}: term {i} must be an object, got {t!r}")
            extra = sorted(set(t) - _TERM_KEYS)
            if extra:
                raise FormError(
                    f"form {name!r}: term {i} has unknown keys {extra}; allowed: {sorted(_TERM_KEYS)}"
                )
            if "mechanism" in t:
                terms.append(MechanismTerm(reg.get(str(t["mechanism"])), t.get("alias")))
            elif "expression" in t:
                terms.append(NewTerm.from_dict(t))
            else:
                raise FormError(
                    f"form {name!r}: term {i} needs 'mechanism' (a library id) or 'expression'"
                )
        sc = data.get("scale") or {}
        try:
            scale = Scale(
                lo=float(sc.get("lo", 1e-5)),
                hi=float(sc.get("hi", 1.0)),
                log=bool(sc.get("log", True)),
                default=None if sc.get("default") is None else float(sc["default"]),
            )
        except (TypeError, ValueError) as e:
            raise FormError(f"form {name!r}: scale: {e}") from None
        return cls(
            terms=tuple(terms),
            scale=scale,
            name=name,
            description=str(data.get("description", "")),
            references=tuple(data.get("references", ()) or ()),
            defaults=tuple((data.get("defaults") or {}).items()),
        )

    @classmethod
    def load(cls, path, *, registry: Registry | None = None) -> "Form":
        p = Path(path)
        if not p.is_file():
            raise FormError(f"form file {str(p)!r} does not exist")
        try:
            return cls.from_json(p.read_text(), registry=registry)
        except FormError as e:
            raise type(e)(f"{p}: {e}") from None

    @classmethod
    def from_mechanisms(
        cls,
        ids: Sequence[str],
        *,
        name: str | None = None,
        registry: Registry | None = None,
        scale: Scale | None = None,
    ) -> "Form":
        reg = registry if registry is not None else default_registry()
        return cls(
            terms=tuple(MechanismTerm(reg.get(i)) for i in ids),
            scale=scale or Scale(),
            name=name or "+".join(sorted(ids)),
        )

    # -- canonical forms ------------------------------------------------------------------
    def to_dict(self) -> dict:
        d: dict = {
            "name": self.name,
            "description": self.description,
            "references": list(self.references),
            "scale": self.scale.to_dict(),
            "terms": [t.to_dict() for t in self.terms],
            "defaults": dict(self.defaults),
        }
        return d

    def to_json(self, *, indent: int | None = 2) -> str:
        """Canonical JSON text (keys and terms sorted)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)

    @cached_property
    def hash(self) -> str:
        math_only = {"scale": {k: v for k, v in self.scale.to_dict().items() if k != "default"},
                     "terms": [t.math() for t in self.terms]}
        text = json.dumps(math_only, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Form) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.hash)

    # -- structure ------------------------------------------------------------------------
    @property
    def term_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.terms)

    def term(self, term_id: str) -> Term:
        for t in self.terms:
            if t.id == term_id:
                return t
        raise UnknownNameError(
            f"form {self.name!r} has no term {term_id!r}; terms: {', '.join(self.term_ids)}"
        )

    @property
    def inputs(self) -> tuple[str, ...]:
        """Catalog names the form reads, in catalog order."""
        used = {n for t in self.terms for n in t.inputs}
        return tuple(n for n in catalog() if n in used)

    def _layout(self) -> list[ParamSpec]:
        s = self.scale
        out = [ParamSpec("scale", s.lo, s.hi, s.log, "1",
                         "burned fraction per month when every term is 1", s.default, None)]
        for t in self.terms:
            for p in t.params:
                out.append(ParamSpec(f"{t.id}.{p.name}", p.lo, p.hi, p.log, p.units,
                                     p.description, p.default, t.id))
        return out

    @cached_property
    def params(self) -> list[ParamSpec]:
        return self._layout()

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def bounds(self) -> Bounds:
        ps = self.params
        return Bounds(
            lo=np.array([p.lo for p in ps], dtype=float),
            hi=np.array([p.hi for p in ps], dtype=float),
            log=np.array([p.log for p in ps], dtype=bool),
        )

    def _rebuild(self, terms: Iterable[Term], **kw) -> "Form":
        terms = tuple(terms)
        defaults = tuple(params_of(dict(self.defaults), [t.id for t in terms]).items())
        return replace(self, terms=terms, defaults=defaults, **kw)

    def subset(self, term_ids: Iterable[str]) -> "Form":
        ids = list(term_ids)
        for i in ids:
            self.term(i)  # raises with the valid list
        return self._rebuild([t for t in self.terms if t.id in set(ids)])

    def without(self, term_id: str) -> "Form":
        self.term(term_id)
        return self._rebuild([t for t in self.terms if t.id != term_id])

    def with_term(self, term: Term) -> "Form":
        if term.id in self.term_ids:
            raise FormError(f"form {self.name!r} already has a term {term.id!r}")
        return self._rebuild([*self.terms, term])

    # -- parameters -----------------------------------------------------------------------
    def default_theta(self) -> np.ndarray:
        """Defaults in layout order: form defaults, else the parameter's literature default,
        else the (geometric, for log parameters) midpoint of its bounds."""
        d = dict(self.defaults)
        out = []
        for p in self.params:
            if p.name in d:
                out.append(d[p.name])
            elif p.default is not None:
                out.append(p.default)
            elif p.log:
                out.append(math.sqrt(p.lo * p.hi))
            else:
                out.append(0.5 * (p.lo + p.hi))
        return np.array(out, dtype=float)

    def theta_vector(self, theta) -> np.ndarray:
        """theta as a float64 vector in layout order (from a vector or a name -> value dict)."""
        names = self.param_names
        if isinstance(theta, Mapping):
            missing = [n for n in names if n not in theta]
            extra = sorted(set(theta) - set(names))
            if missing or extra:
                raise FormError(
                    f"form {self.name!r}: theta has missing {missing} / unknown {extra} "
                    f"parameters; layout: {names}"
                )
            return np.array([float(theta[n]) for n in names], dtype=float)
        v = np.asarray(theta, dtype=float).reshape(-1)
        if v.size != len(names):
            raise FormError(
                f"form {self.name!r}: theta has {v.size} values, the layout has {len(names)}: {names}"
            )
        return v

    def theta_dict(self, theta) -> dict[str, float]:
        return dict(zip(self.param_names, self.theta_vector(theta).tolist()))

    def term_values(self, theta) -> dict[str, dict[str, float]]:
        """Per-term keyword parameters {term_id: {param: value}} and {"scale": value}."""
        d = self.theta_dict(theta)
        out: dict[str, dict[str, float]] = {t.id: {} for t in self.terms}
        for k, v in d.items():
            if k == "scale":
                continue
            tid, _, pname = k.partition(".")
            out[tid][pname] = v
        return out

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, theta, drivers: Drivers | Mapping[str, np.ndarray], *, xp=np):
        """Reference evaluation, float64 (n_cells, n_months): scale x prod of term functions.

        ``drivers`` is a :class:`~fireform.drivers.dataset.Drivers` (``array(name)``) or a
        mapping name -> array; static inputs arrive as (n_cells, 1), so static terms are
        computed per cell and broadcast.
        """
        vec = self.theta_vector(theta)
        per_term = self.term_values(vec)
        arrays = {n: xp.asarray(_get(drivers, n), dtype=xp.float64) for n in self.inputs}
        n_cells, n_months = _shape(drivers, arrays)
        ctx = np.errstate(all="ignore") if xp is np else _nullctx()
        with ctx:
            out = xp.full((n_cells, n_months), vec[0], dtype=xp.float64)
            for t in self.terms:
                out = out * t.compute(arrays, per_term[t.id], xp=xp)
        return out

    def predict(self, theta, drivers: Drivers) -> xr.DataArray:
        """Burned fraction on the drivers' grid: (time, lat, lon), NaN outside the drivers' cells;
        derived inputs the form reads are computed from the drivers when they lack them."""
        missing = [n for n in self.inputs if n not in drivers]
        d = add_derived(drivers, missing) if missing else drivers
        packed = np.asarray(self.evaluate(theta, d), dtype=np.float64)
        iy, ix = d.cell_index
        grid = np.full((d.n_months, d.lat.size, d.lon.size), np.nan)
        grid[:, iy, ix] = packed.T
        return xr.DataArray(
            grid, dims=("time", "lat", "lon"), name="burned_fraction",
            coords={"time": d.ds["time"], "lat": d.ds["lat"], "lon": d.ds["lon"]},
            attrs={"units": "1", "long_name": "burned fraction of the cell per month",
                   "fireform_form": self.name or self.hash, "fireform_form_hash": self.hash},
        )

    # -- rendering ------------------------------------------------------------------------
    def text(self) -> str:
        lines = [f"{self.name or 'form'}  [{self.hash}]"]
        if self.description:
            lines.append(f"  {self.description}")
        prod = " x ".join(["scale", *self.term_ids])
        lines.append(f"burned_fraction = {prod}")
        s = self.scale
        lines.append(f"  scale in [{s.lo:g}, {s.hi:g}]{' (log)' if s.log else ''}")
        for t in self.terms:
            refs = ", ".join(t.references)
            lines.append(f"  {t.id}({', '.join(t.inputs)}) = {ex.to_text(t.expr)}   [{refs}]")
            for p in t.params:
                lines.append(
                    f"      {p.name} in [{p.lo:g}, {p.hi:g}]{' (log)' if p.log else ''} "
                    f"{p.units}: {p.description}"
                )
        return "\n".join(lines)

    def latex(self, theta=None) -> str:
        """An ``aligned`` block: the product, then one line per term. With ``theta``, parameter
        symbols are replaced by their values."""
        values = self.term_values(theta) if theta is not None else None

        def tname(tid: str) -> str:
            return r"f_{\mathrm{" + tid.replace("_", r"\_") + "}}"

        head = " \\cdot ".join(["s", *[tname(t) for t in self.term_ids]])
        if theta is not None:
            head = head.replace("s", ex.format_number(self.theta_vector(theta)[0]), 1)
        lines = [rf"F &= {head}"]
        for t in self.terms:
            sym = {}
            if values is not None:
                sym = {k: ex.format_number(v) for k, v in values[t.id].items()}
            lines.append(rf"{tname(t.id)} &= {ex.to_latex(t.expr, symbols=sym)}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def __repr__(self) -> str:
        return f"Form({self.name!r}, hash={self.hash}, terms={list(self.term_ids)})"


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _get(drivers, name: str):
    if hasattr(drivers, "array"):
        return drivers.array(name)
    try:
        return drivers[name]
    except KeyError:
        raise FormError(f"input {name!r} is missing from the given arrays") from None


def _shape(drivers, arrays: Mapping[str, Any]) -> tuple[int, int]:  # arrays of the xp namespace
    if hasattr(drivers, "n_cells"):
        return int(drivers.n_cells), int(drivers.n_months)
    shapes = [np.shape(a) for a in arrays.values()]
    if not shapes:
        raise FormError("cannot infer (n_cells, n_months) from a form without inputs")
    b = np.broadcast_shapes(*shapes)
    return (int(b[0]), int(b[1]) if len(b) > 1 else 1)
