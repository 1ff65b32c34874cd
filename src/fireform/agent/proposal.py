"""What an agent (heuristic or LLM) may propose, and the grounding checks run before any fit.

A proposal names the *whole* composition of the next form: library mechanism ids plus, rarely,
new terms in the safe expression language, each with an ecological rationale and a reference.
It never carries numbers for parameters: a new term declares named parameters with bounds
(the optimizer chooses values inside them), and literal numbers in its expression are limited
to the structural constants in :data:`STRUCTURAL_CONSTANTS`. Extra fields (``value``,
``default``, ``params`` dictionaries of numbers, ...) are rejected by the schema.

Grounding checks (:func:`ground`), all before any fit, each failure a reason string:
- schema: valid JSON of this shape, no extra fields;
- known mechanisms (unknown ids listed with the valid ones), no duplicates;
- new terms: parse in the safe language, names are catalog inputs or declared bounded
  parameters, the exponent rule, a rationale and at least one reference, only structural
  literal numbers;
- every input the form needs is present in the (training) drivers;
- the form's output is finite and within [0, 1] over the training data at the corners and
  centre of the parameter box and at random points inside it (each term, so a scale near 1
  cannot hide a term above 1);
- not a duplicate of a form already tried (by :attr:`Form.hash`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from fireform.exceptions import FireformError, ProposalError
from fireform.forms import Form, NewTerm
from fireform.forms import expr as ex
from fireform.forms.terms import default_registry

if TYPE_CHECKING:
    from fireform.drivers import Drivers

__all__ = [
    "STRUCTURAL_CONSTANTS",
    "NewParam",
    "NewTermSpec",
    "Proposal",
    "Grounding",
    "parse_proposal",
    "ground",
    "proposal_json_schema",
]

# Literal numbers a new term may contain: structure (halves, squares, percent, kelvin offset),
# never fitted magnitudes. Anything else must be a named, bounded parameter.
STRUCTURAL_CONSTANTS = frozenset({0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 10.0, 100.0, 273.15})
# Every string and list of a Proposal is bounded, here and only here: the answer grammar of
# grammar-constrained backends is built from this schema (prompting.answer_schema), so these
# bounds are what make every such answer close, and what the default max_tokens is sized for.
MAX_TERMS = 12
MAX_NEW_TERMS = 3
MAX_PARAMS = 6
MAX_REFERENCES = 6
ID_CHARS = 64  # a library mechanism id
NAME_CHARS = 48  # a new term's name
PARAM_NAME_CHARS = 32
TERM_RATIONALE_CHARS = 300  # one short sentence per term
REFERENCE_CHARS = 120  # a BibTeX key or a short citation

MechanismId = Annotated[str, StringConstraints(min_length=1, max_length=ID_CHARS)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=REFERENCE_CHARS)]
TermRationale = Annotated[str, StringConstraints(max_length=TERM_RATIONALE_CHARS)]


class NewParam(BaseModel):
    """A parameter of a new term: a name and the bounds the optimizer searches (no value)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=rf"^[A-Za-z][A-Za-z0-9_]{{0,{PARAM_NAME_CHARS - 1}}}$",
                      max_length=PARAM_NAME_CHARS)
    lo: float
    hi: float
    units: str = Field(default="1", max_length=40)
    description: str = Field(min_length=1, max_length=300)
    log: bool = False


class NewTermSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=rf"^[A-Za-z][A-Za-z0-9_]{{0,{NAME_CHARS - 1}}}$", max_length=NAME_CHARS)
    expression: str = Field(min_length=1, max_length=600)
    params: list[NewParam] = Field(default_factory=list, max_length=MAX_PARAMS)
    rationale: str = Field(min_length=10, max_length=1200)
    references: list[Reference] = Field(min_length=1, max_length=MAX_REFERENCES)


class Proposal(BaseModel):
    """The next form to fit, as a composition; see the module docstring for the rules."""

    model_config = ConfigDict(extra="forbid")
    mechanisms: list[MechanismId] = Field(default_factory=list, max_length=MAX_TERMS)
    new_terms: list[NewTermSpec] = Field(default_factory=list, max_length=MAX_NEW_TERMS)
    rationale: str = Field(min_length=10, max_length=3000)
    # keyed by library id or new-term name (a new term's name is shorter than ID_CHARS); no cap
    # on the count, which a grammar cannot express
    # (the answer grammar bounds it by listing the catalog ids as its keys)
    term_rationales: dict[MechanismId, TermRationale] = Field(default_factory=dict)
    action: str = Field(default="", max_length=40)  # add | drop | swap | new (informational)

    def to_form_json(self, *, name: str = "") -> dict:
        terms: list[dict] = [{"mechanism": m} for m in self.mechanisms]
        for t in self.new_terms:
            terms.append(
                {
                    "name": t.name,
                    "expression": t.expression,
                    "params": [p.model_dump() for p in t.params],
                    "rationale": t.rationale,
                    "references": list(t.references),
                }
            )
        return {"name": name or "+".join(sorted(self.mechanisms + [t.name for t in self.new_terms])),
                "description": self.rationale[:300], "terms": terms}

    def to_form(self, *, name: str = ""):
        return Form.from_json(self.to_form_json(name=name))


def proposal_json_schema() -> dict:
    """The JSON schema given to LLM backends for structured output."""
    return Proposal.model_json_schema()


def parse_proposal(data: str | Mapping) -> Proposal:
    """Parse text or a dict into a Proposal; schema violations raise ProposalError with reasons."""
    if isinstance(data, str):
        text = data.strip()
        # Models often wrap JSON in a fenced block; take the outermost object.
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ProposalError("the answer contains no JSON object")
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError as e:
            raise ProposalError(f"the answer is not valid JSON: {e}") from None
    try:
        return Proposal.model_validate(data)
    except ValidationError as e:
        reasons = [
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in e.errors()
        ]
        raise ProposalError("; ".join(reasons)) from None


@dataclass(frozen=True)
class Grounding:
    """Outcome of the grounding checks: ``ok`` and the reasons a proposal was rejected."""

    ok: bool
    reasons: tuple[str, ...] = ()
    form: Form | None = None  # the Form, when it could be built
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _literals(expr) -> list[float]:
    out: list[float] = []

    def walk(e) -> None:
        if isinstance(e, ex.Num):
            out.append(float(e.value))
        elif isinstance(e, ex.Neg):
            walk(e.operand)
        elif isinstance(e, ex.BinOp):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, ex.Call):
            for a in e.args:
                walk(a)

    walk(expr)
    return out


def _range_check(form: Form, drivers: Drivers, *, n_random: int, seed: int, max_cells: int) -> list[str]:
    """Evaluate each term on (a sample of) the training data over the parameter box."""
    reasons: list[str] = []
    n = drivers.n_cells
    rng = np.random.default_rng(seed)
    cells = np.sort(rng.choice(n, size=min(n, max_cells), replace=False))
    arrays = {name: drivers.array(name)[cells] for name in form.inputs}
    for term in form.terms:
        ps = list(term.params)
        if not ps:
            points: list[dict[str, float]] = [{}]
        else:
            lo = np.array([p.lo for p in ps])
            hi = np.array([p.hi for p in ps])
            pts = [lo, hi, 0.5 * (lo + hi)]
            pts += list(lo + (hi - lo) * rng.random((n_random, len(ps))))
            points = [dict(zip([p.name for p in ps], map(float, v))) for v in pts]
        for values in points:
            with np.errstate(all="ignore"):
                out = np.asarray(term.compute(arrays, values), dtype=float)
            bad = ~np.isfinite(out) | (out < -1e-9) | (out > 1 + 1e-9)
            if bad.any():
                kind = "new term" if isinstance(term, NewTerm) else "mechanism"
                i = int(np.argmax(bad.ravel()))
                reasons.append(
                    f"{kind} {term.id!r} leaves [0, 1] on the training data: value "
                    f"{out.ravel()[i]:.4g} at parameters {values} ({int(bad.sum())} of "
                    f"{bad.size} cell-months); wrap it in clip() or sigmoid() or narrow the bounds"
                )
                break
    return reasons


def ground(
    proposal: Proposal | str | Mapping,
    *,
    drivers: Drivers | None = None,
    tried: Iterable[str] = (),
    n_random: int = 16,
    seed: int = 0,
    max_cells: int = 4000,
) -> Grounding:
    """Run every grounding check; never raises for a bad proposal (reasons are returned).

    ``drivers`` are the *training* drivers (never holdout); ``tried`` holds hashes of forms
    already fitted or rejected.
    """
    reasons: list[str] = []
    if not isinstance(proposal, Proposal):
        try:
            proposal = parse_proposal(proposal)
        except ProposalError as e:
            return Grounding(False, (f"schema: {e}",))
    reg = default_registry()
    unknown = [m for m in proposal.mechanisms if m not in reg]
    if unknown:
        reasons.append(
            f"unknown mechanisms {unknown}; valid ids: {', '.join(sorted(reg.ids()))}"
        )
    dups = sorted({m for m in proposal.mechanisms if proposal.mechanisms.count(m) > 1})
    if dups:
        reasons.append(f"mechanisms listed twice: {dups}")
    if not proposal.mechanisms and not proposal.new_terms:
        reasons.append("the proposal has no terms: name at least one mechanism")
    for t in proposal.new_terms:
        try:
            parsed = ex.parse(t.expression)
        except FireformError as err:
            reasons.append(f"new term {t.name!r}: {err}")
            continue
        odd = sorted({v for v in _literals(parsed) if v not in STRUCTURAL_CONSTANTS})
        if odd:
            reasons.append(
                f"new term {t.name!r} hard-codes the numbers {odd}: the agent never chooses "
                f"numbers; declare a named, bounded parameter instead (allowed literals: "
                f"{sorted(STRUCTURAL_CONSTANTS)})"
            )
    if reasons:
        return Grounding(False, tuple(reasons))
    try:
        form = proposal.to_form()
    except FireformError as err:
        return Grounding(False, (f"form: {err}",))
    if drivers is not None:
        missing = [i for i in form.inputs if i not in drivers]
        if missing:
            return Grounding(
                False,
                (f"inputs {missing} are not in the drivers; available: {', '.join(drivers.variables)}",),
                form,
            )
        reasons += _range_check(form, drivers, n_random=n_random, seed=seed, max_cells=max_cells)
    if form.hash in set(tried):
        reasons.append(f"duplicate: a form with the same terms (hash {form.hash}) was already tried")
    return Grounding(not reasons, tuple(reasons), form)
