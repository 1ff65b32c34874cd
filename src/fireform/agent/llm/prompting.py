"""Prompts for the LLM proposers: files in ``fireform/agent/prompts/`` filled from the context.

Templates use :class:`string.Template` (``$name`` placeholders, ``$$`` for a literal dollar):
substitution never evaluates anything, and a missing placeholder raises at once. The rendering
functions here are pure: the same :class:`~fireform.agent.context.AgentContext` gives the same
messages, so prompts are reproducible from the journal.

Two prompt sizes:

- ``full`` (API models): program.md, the whole catalog with equations and references, the
  incumbent and top forms with their full training score vectors under every convention,
  per-region diagnostics, screened moves, Shapley shares and interactions, rejected proposals
  with reasons;
- ``compact`` (the 270M local model, ~500 tokens so prefill stays in seconds on two cores): the
  incumbent, the flagged regions, the best screened moves, recent rejections and the ids.

Also here: :func:`answer_schema`, the JSON schema sent for structured output. It is the
:class:`~fireform.agent.proposal.Proposal` schema narrowed to the catalog's available ids (and,
for the compact form, to the fields a small model can fill). Narrowing only helps the model;
every answer is still parsed with the full Proposal schema and grounded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template

from fireform.agent.llm.grammar import bound_schema
from fireform.agent.proposal import TERM_RATIONALE_CHARS, proposal_json_schema
from fireform.exceptions import FireformError

__all__ = [
    "Message",
    "prompt_text",
    "render_catalog",
    "render_context",
    "render_retry",
    "build_messages",
    "answer_schema",
    "merge_system",
    "move_schema",
    "move_to_proposal",
    "MoveResult",
]

PROMPTS_PACKAGE = "fireform.agent.prompts"
ACTIONS = ("add", "drop", "swap", "new")


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str

    def as_dict(self) -> dict:
        return {"role": self.role, "content": self.content}


def prompt_text(name: str) -> str:
    """The raw text of a prompt file (``system.md``, ``context.md``, ...)."""
    f = resources.files(PROMPTS_PACKAGE).joinpath(name)
    if not f.is_file():
        raise FireformError(f"prompt file {name!r} is missing from {PROMPTS_PACKAGE}")
    return f.read_text()


def _fill(name: str, **values) -> str:
    try:
        return Template(prompt_text(name)).substitute(**{k: str(v) for k, v in values.items()})
    except (KeyError, ValueError) as e:
        raise FireformError(f"prompt file {name!r}: placeholder {e} has no value") from None


def _num(x, fmt: str = ".3f") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return format(v, fmt) if math.isfinite(v) else "n/a"


# -- catalog -------------------------------------------------------------------------------------
def render_catalog(catalog: Sequence[dict], *, only_available: bool = True) -> str:
    """The library as one line per mechanism (id, regime, inputs, parameters, equation, refs)."""
    rows = [m for m in catalog if m.get("available", True) or not only_available]
    entries = "\n".join(
        _fill("catalog_entry.txt", id=m["id"], regime=m["regime"], inputs=", ".join(m["inputs"]),
              n_params=m["n_params"], equation=m["equation"],
              references=", ".join(m["references"])).rstrip("\n")
        for m in sorted(rows, key=lambda m: (m["regime"], m["id"]))
    )
    n_avail = sum(1 for m in catalog if m.get("available", True))
    return _fill("catalog.md", entries=entries, n_available=n_avail, n_total=len(catalog)).rstrip()


# -- context blocks ----------------------------------------------------------------------------
def _vector(vec: dict) -> str:
    return ", ".join(f"{k} {_num(v)}" for k, v in sorted(vec.items()))


def _form_block(f: dict, *, label: str = "") -> str:
    lines = [f"{label}{' + '.join(f['terms'])} [{f['form_hash']}], {f['n_params']} parameters, "
             f"objective {_num(f['objective'], '.4f')}",
             f"  Overall by convention: {_vector(f.get('overall', {}))}",
             f"  Components: {_vector(f.get('vector', {}))}"]
    return "\n".join(lines)


def _diagnostics(diags: Iterable[dict]) -> str:
    out = []
    for d in diags:
        out.append(f"- {d['region']} ({int(d.get('n_cells') or 0)} cells): bias "
                   f"{_num(100 * float(d.get('bias_relative', float('nan'))), '+.0f')}% of the "
                   f"reference mean, phase shift {_num(d.get('phase_shift_months'), '.1f')} months, "
                   f"spatial r {_num(d.get('spatial_corr'), '.2f')}; looks wrong: {d.get('suspect', '')}")
    return "\n".join(out) or "(none)"


def _screen(moves: Sequence[dict], n: int) -> str:
    out = []
    for s in list(moves)[:n]:
        what = {"add": f"add {s['add']}", "drop": f"drop {s['remove']}",
                "swap": f"swap {s['remove']} -> {s['add']}"}.get(s["action"], s["action"])
        out.append(f"- {what}: objective {_num(s['objective'], '.4f')} (gain "
                   f"{_num(s['gain'], '+.4f')}), {s['n_params']} parameters")
    return "\n".join(out) or "(none)"


def _shapley(sh: dict | None) -> str:
    if not sh:
        return "(not computed yet for this incumbent)"
    lines = []
    for r in sh.get("values", []):
        lines.append(f"- {r.get('player', r.get('mechanism', '?'))}: share {_num(r.get('share'), '.2f')}"
                     f", value {_num(r.get('value'), '.4f')}")
    inter = sh.get("interactions") or []
    if inter:
        lines.append("Interactions (pairs):")
        for r in inter:
            # column names of the ablation table vary: the pair is its string-valued columns
            pair = [str(v) for k, v in r.items() if isinstance(v, str)][:2]
            lines.append(f"- {' x '.join(pair) or '?'}: {_num(r.get('value'), '+.4f')}")
    return "\n".join(lines)


def _rejected(rej: Sequence[dict], n: int, width: int) -> str:
    out = []
    for r in list(rej)[-n:]:
        why = "; ".join(r.get("reasons") or []) or "(no reason recorded)"
        out.append(f"- iteration {r['iteration']} ({r.get('action') or '?'}): {why[:width]}")
    return "\n".join(out) or "(none)"


def render_context(ctx, *, max_screen: int = 20, max_top: int = 5, max_rejected: int = 8) -> str:
    """The full context message (``context.md``) for API models."""
    obj = ctx.objective
    budget = ", ".join(f"{k} {v}" for k, v in sorted(obj.get("budget_left", {}).items())) or "n/a"
    return _fill(
        "context.md",
        iteration=ctx.iteration,
        convention=obj["convention"],
        region=obj["region"],
        train_years="-".join(str(y) for y in obj.get("train_years", [])) or "n/a",
        noise=_num(obj["noise"], ".4f"),
        budget_left=budget,
        incumbent=_form_block(ctx.incumbent),
        top="\n".join(_form_block(f, label=f"{i + 1}. ") for i, f in enumerate(ctx.top[:max_top]))
        or "(none)",
        diagnostics=_diagnostics(ctx.diagnostics),
        screen=_screen(ctx.screen, max_screen),
        shapley=_shapley(ctx.shapley),
        rejected=_rejected(ctx.rejected, max_rejected, 400),
        n_tried=len(ctx.tried),
        catalog=render_catalog(ctx.catalog),
    ).rstrip()


def render_compact_context(ctx, *, max_screen: int = 5, max_rejected: int = 3) -> str:
    """The compact context (``local_context.md``) for the small local model."""
    flagged = [d for d in ctx.diagnostics if d.get("suspect") and d["suspect"] != "nothing obvious"]
    flagged = sorted(flagged, key=lambda d: -abs(float(d.get("bias_relative") or 0.0)))[:3]
    diag = "; ".join(f"{d['region']}: {d['suspect'].split(';')[0]}" for d in flagged) or "nothing obvious"
    moves = []
    for s in ctx.screen[:max_screen]:
        what = {"add": f"add {s['add']}", "drop": f"drop {s['remove']}",
                "swap": f"swap {s['remove']} for {s['add']}"}.get(s["action"], s["action"])
        moves.append(f"{what} ({_num(s['gain'], '+.3f')})")
    rej = [f"{'; '.join(r.get('reasons') or [])[:120]}" for r in ctx.rejected[-max_rejected:]]
    ids = ", ".join(f"{m['id']} [{m['regime']}]" for m in sorted(ctx.catalog, key=lambda m: m["id"])
                    if m.get("available", True))
    return _fill(
        "local_context.md",
        incumbent_terms=", ".join(ctx.incumbent["terms"]),
        objective=_num(ctx.incumbent["objective"], ".3f"),
        noise=_num(ctx.objective["noise"], ".3f"),
        diagnostics=diag,
        screen="; ".join(moves) or "none",
        rejected=" | ".join(rej) or "none",
        catalog_ids=ids,
    ).rstrip()


def render_retry(reasons: Sequence[str], *, attempt: int, max_attempts: int, width: int = 600) -> str:
    """The feedback message after a malformed or ungrounded answer (``retry.md``)."""
    text = "\n".join(f"- {r[:width]}" for r in reasons) or "- (no reason given)"
    return _fill("retry.md", reasons=text, attempt=attempt, max_attempts=max_attempts).rstrip()


def build_messages(ctx, *, compact: bool = False) -> list[Message]:
    """System + context messages for one proposal (the retry loop appends to them)."""
    if compact:
        return [Message("system", prompt_text("local_system.md").strip()),
                Message("user", render_compact_context(ctx))]
    system = _fill("system.md", program=ctx.program.strip(),
                   answer_format=prompt_text("answer_format.md").strip()).rstrip()
    return [Message("system", system), Message("user", render_context(ctx))]


def merge_system(messages: Sequence[Message]) -> list[Message]:
    """Fold system messages into the first user message, for chat templates without a system
    role (Gemma's drops it silently)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return list(rest)
    if rest and rest[0].role == "user":
        return [Message("user", f"{system}\n\n{rest[0].content}")] + list(rest[1:])
    return [Message("user", system)] + list(rest)


# -- structured-output schema ------------------------------------------------------------------------
def _field(model: str, name: str) -> dict:
    """A field's schema in the Proposal JSON schema (``model`` is ``Proposal`` or a ``$defs`` name)."""
    s = proposal_json_schema()
    return (s if model == "Proposal" else s["$defs"][model])["properties"][name]


def answer_schema(catalog: Sequence[dict] | None = None, *, compact: bool = False,
                  new_terms: bool = True, incumbent: Sequence[str] = (),
                  rationale_chars: int = 200) -> dict:
    """The JSON schema for structured output; every answer it admits is finite (:mod:`.grammar`).

    Full: :func:`~fireform.agent.proposal.proposal_json_schema` with ``mechanisms`` items
    restricted to the available catalog ids (when a catalog is given), ``term_rationales`` keyed
    by those ids (the free map of the Proposal would be an unbounded grammar; a new term has its
    own rationale) and, if ``new_terms`` is false, without ``new_terms``. Compact: a single
    *move* from the incumbent (:func:`move_schema`), which a grammar-constrained small model fills
    in ~50 tokens. Every string then gets a bounded text pattern from its own maxLength
    (:func:`~fireform.agent.llm.grammar.bound_schema`), so the limits are the Proposal's.
    """
    if compact:
        return move_schema(catalog or [], incumbent, rationale_chars=rationale_chars)

    ids = sorted(m["id"] for m in (catalog or []) if m.get("available", True))
    schema = json.loads(json.dumps(proposal_json_schema()))
    props = schema["properties"]
    if ids:
        props["mechanisms"]["items"] = {"type": "string", "enum": ids}
    props["action"] = {"type": "string", "enum": list(ACTIONS)}
    defs = schema.setdefault("$defs", {})
    if not new_terms:
        props.pop("new_terms", None)
        defs.clear()
    # one shared rule for the values: the grammar then holds it once, not once per id
    defs["TermRationale"] = props["term_rationales"]["additionalProperties"]
    props["term_rationales"] = {"type": "object", "additionalProperties": False,
                                "properties": {i: {"$ref": "#/$defs/TermRationale"} for i in ids}}
    schema["required"] = ["action", "mechanisms", "rationale", "term_rationales"]
    return bound_schema(schema)


def move_schema(catalog: Sequence[dict], incumbent: Sequence[str], *, rationale_chars: int = 200) -> dict:
    """The compact answer: one move from the incumbent.

    ``{"action": "add"|"drop"|"swap", "add": id or "", "remove": id or "", "rationale": ...}``
    with ``add`` limited to available ids not in the incumbent and ``remove`` to the incumbent's
    terms, so a grammar-constrained model cannot name an unknown id or repeat one.
    ``rationale_chars`` may not exceed the Proposal's rationale limit (the move's rationale
    becomes it). :func:`move_to_proposal` turns it into a full Proposal.
    """
    limit = _field("Proposal", "rationale")
    if not limit["minLength"] <= int(rationale_chars) <= limit["maxLength"]:
        raise FireformError(f"move_schema: rationale_chars = {rationale_chars!r} is outside the "
                            f"Proposal's rationale length [{limit['minLength']}, {limit['maxLength']}]")
    inc = list(incumbent)
    addable = sorted(m["id"] for m in catalog if m.get("available", True) and m["id"] not in inc)
    props = {
        "action": {"type": "string", "enum": list(ACTIONS[:3])},
        "add": {"type": "string", "enum": addable + [""]},
        "remove": {"type": "string", "enum": sorted(inc) + [""]},
        "rationale": {"type": "string", "minLength": limit["minLength"], "maxLength": int(rationale_chars)},
    }
    return bound_schema({"title": "Move", "type": "object", "additionalProperties": False,
                         "properties": props, "required": list(props)})


@dataclass(frozen=True)
class MoveResult:
    """A move answer turned into Proposal JSON (``text``), or the reasons it could not be."""

    text: str
    reasons: tuple[str, ...] = ()


def move_to_proposal(text: str, incumbent: Sequence[str]) -> MoveResult:
    """Apply a compact move answer to the incumbent's terms; never raises for a bad answer.

    add: incumbent + add; drop: incumbent - remove; swap: incumbent - remove + add. The result
    is Proposal JSON (``term_rationales`` names the changed term), which is then parsed and
    grounded like any answer.
    """
    s = text.strip()
    a, b = s.find("{"), s.rfind("}")
    try:
        d = json.loads(s[a : b + 1]) if 0 <= a < b else None
    except json.JSONDecodeError as e:
        return MoveResult(text, (f"schema: the answer is not valid JSON: {e}",))
    if not isinstance(d, dict):
        return MoveResult(text, ("schema: the answer contains no JSON object",))
    action = str(d.get("action", ""))
    add, rem = str(d.get("add") or ""), str(d.get("remove") or "")
    terms = list(incumbent)
    reasons = []
    if action not in ACTIONS[:3]:
        reasons.append(f"action {action!r}: expected add, drop or swap")
    if action in ("add", "swap") and not add:
        reasons.append(f"action {action!r} needs \"add\": the id of a library mechanism not in the incumbent")
    if action in ("drop", "swap") and not rem:
        reasons.append(f"action {action!r} needs \"remove\": one of the incumbent's terms {terms}")
    if rem and rem not in terms:
        reasons.append(f"remove {rem!r} is not a term of the incumbent {terms}")
    if add and add in terms and rem != add:
        reasons.append(f"add {add!r} is already in the incumbent {terms}")
    if action == "drop" and len(terms) <= 1:
        reasons.append("cannot drop the only term of the incumbent")
    if reasons:
        return MoveResult(text, tuple(reasons))
    new = [t for t in terms if not (action in ("drop", "swap") and t == rem)]
    if action in ("add", "swap"):
        new.append(add)
    why = str(d.get("rationale") or "")
    changed = add or rem
    proposal = {"action": action, "mechanisms": new, "rationale": why,
                "term_rationales": {changed: why[:TERM_RATIONALE_CHARS]} if changed and why else {}}
    return MoveResult(json.dumps(proposal))
