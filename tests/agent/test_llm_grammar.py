"""Answer grammars always close: every answer schema is finite under llama.cpp's own converter
(the one the local proposer and llama.cpp's server use), its longest answer is a valid Proposal
and fits the default max_tokens, and an answer cut off at max_tokens is journaled and rejected
with that reason. No model here (tests/agent/test_llm_local.py runs the real one)."""

from __future__ import annotations

import json
import re

import pytest

from fireform.agent.base import Recorder
from fireform.agent.llm import Completion, OpenAIProposer, answer_schema
from fireform.agent.llm.grammar import (
    ANSWER_TOKEN_MARGIN,
    GRAMMAR_MAX_CHARS,
    TEXT_CHARS,
    answer_bytes_bound,
    bound_schema,
)
from fireform.agent.llm.prompting import move_schema, move_to_proposal
from fireform.agent.proposal import MAX_TERMS, Proposal, parse_proposal
from fireform.exceptions import FireformError, ProposalError
from fireform.testing import tiny_drivers
from llm_fixtures import RATIONALE, free_port, make_context

KEY = "sk-fireformGRAMMAR-0123456789abcdefSECRET"
KINDS = {"compact": {"compact": True}, "full": {}, "full without new terms": {"new_terms": False}}


@pytest.fixture(scope="module")
def ctx():
    return make_context(tiny_drivers())


def _schema(ctx, kind: str) -> dict:
    return answer_schema(ctx.catalog, incumbent=ctx.incumbent["terms"], **KINDS[kind])


def _operators(gbnf: str) -> str:
    """The grammar without its quoted literals and character classes: what is left are rule
    names, parentheses and the repetition operators."""
    return re.sub(r'"(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]', " ", gbnf)


def _longest(node: dict, defs: dict, filler: str = "1.0.") -> object:
    """The longest instance of a bounded schema: every string at its maxLength (filled with the
    degenerate "1.0.0.0..." of the issue), every list at its maxItems, every property present."""
    if "$ref" in node:
        return _longest(defs[node["$ref"].rsplit("/", 1)[-1]], defs, filler)
    if "enum" in node:
        return max(node["enum"], key=lambda v: len(json.dumps(v)))
    kind = node["type"]
    if kind == "string":  # names have their own, stricter patterns
        fill = filler if node["pattern"].startswith(f"^[{TEXT_CHARS}]") else "a"
        return (fill * node["maxLength"])[: node["maxLength"]]
    if kind == "number":
        return -1.2345678901234567e-100
    if kind == "boolean":
        return False
    if kind == "array":
        item = node["items"]
        if "enum" in item:  # distinct ids, longest first
            return sorted(item["enum"], key=len, reverse=True)[: node["maxItems"]]
        return [_longest(item, defs, filler) for _ in range(node["maxItems"])]
    return {k: _longest(v, defs, filler) for k, v in node["properties"].items()}


@pytest.mark.slow  # needs the local-model runtime, which `make test-llm` installs
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_llama_cpp_converter_makes_every_answer_schema_finite(ctx, kind):
    from llama_cpp import llama_grammar  # the runtime under test
    gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(_schema(ctx, kind)))
    ops = _operators(gbnf)
    # no unbounded repetition anywhere, and the free string rule (escapes, any character) unused
    assert "*" not in ops and "+" not in ops, [line for line in gbnf.splitlines()
                                                if "*" in _operators(line) or "+" in _operators(line)]
    assert not re.search(r"^char ::=", gbnf, re.M)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_longest_answer_is_a_valid_proposal_within_the_bound(ctx, kind):
    schema = _schema(ctx, kind)
    answer = _longest(schema, schema.get("$defs", {}))
    text = json.dumps(answer)
    assert len(text.encode()) <= answer_bytes_bound(schema)
    if kind == "compact":
        assert answer["rationale"].startswith("1.0.1.0.") and len(answer["rationale"]) == 200
        moved = move_to_proposal(text, ctx.incumbent["terms"])
        assert not moved.reasons, moved.reasons
        text = moved.text
    else:
        assert len(answer["mechanisms"]) == MAX_TERMS
    # the grammar's limits are within the Proposal's: its longest answer parses
    assert isinstance(parse_proposal(text), Proposal)


def test_strings_longer_than_llama_cpp_parses_are_cut_in_the_grammar(ctx):
    full = _schema(ctx, "full")
    assert Proposal.model_fields["rationale"].metadata[-1].max_length > GRAMMAR_MAX_CHARS
    assert full["properties"]["rationale"]["maxLength"] == GRAMMAR_MAX_CHARS
    assert full["properties"]["rationale"]["pattern"].endswith(f"{{10,{GRAMMAR_MAX_CHARS}}}$")


def test_text_pattern_excludes_escapes_and_stop_strings(ctx):
    pattern = _schema(ctx, "compact")["properties"]["rationale"]["pattern"]
    assert re.fullmatch(pattern, "Dry fuel (VPD > 2 kPa) burns; see Archibald2009.".replace(">", "above"))
    for bad in ('a "quoted" word', "back\\slash", "<end_of_turn> stop", "line\nbreak", "café ok"):
        assert not re.fullmatch(pattern, bad + " padding"), bad


def test_unbounded_schemas_are_refused_with_their_path():
    with pytest.raises(FireformError, match=r"answer\.why has no maxLength"):
        bound_schema({"type": "object", "additionalProperties": False,
                      "properties": {"why": {"type": "string"}}})
    with pytest.raises(FireformError, match=r"answer\.ids has no maxItems"):
        bound_schema({"type": "object", "additionalProperties": False,
                      "properties": {"ids": {"type": "array", "items": {"type": "string", "enum": ["a"]}}}})
    with pytest.raises(FireformError, match="free keys"):
        bound_schema({"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}})
    with pytest.raises(FireformError, match="rationale_chars = 5000"):
        move_schema([], [], rationale_chars=5000)


def _proposer(monkeypatch, **kw):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # a closed loopback port: constructing never connects
    return OpenAIProposer(base_url=f"http://127.0.0.1:{free_port()}/v1", **kw)


def test_auto_max_tokens_leaves_room_for_the_longest_answer(ctx, monkeypatch):
    p = _proposer(monkeypatch, compact=True)
    compact = _schema(ctx, "compact")
    assert p.max_tokens is None
    assert p.tokens_for(compact) == answer_bytes_bound(compact) + ANSWER_TOKEN_MARGIN
    assert p._request("json_object_schema", [], compact)["max_tokens"] == p.tokens_for(compact)
    full = _schema(ctx, "full")
    assert answer_bytes_bound(full) > p.max_tokens_cap  # API models: capped, cut-offs rejected
    assert p.tokens_for(full) == p.max_tokens_cap
    assert _proposer(monkeypatch, max_tokens=77).tokens_for(compact) == 77
    with pytest.raises(FireformError, match="max_tokens = 'many'"):
        _proposer(monkeypatch, max_tokens="many")


CUT = '{"action": "add", "add": "fuel_ramp", "remove": "", "rationale": "1.0.0.0.0.0.0.0.0.0.0.0'
GOOD = '{"action": "add", "add": "fuel_ramp", "remove": "", "rationale": "' + RATIONALE + '"}'


def _asker(answers):
    calls = []

    def ask(messages, schema):
        calls.append([m.content for m in messages])
        text, reason = answers[len(calls) - 1]
        return Completion(text, 100, 20, model="canned", finish_reason=reason)

    return ask, calls


def test_cut_off_answer_is_journaled_and_sent_back_with_the_reason(ctx, monkeypatch):
    p = _proposer(monkeypatch, compact=True, max_retries=1, max_tokens=20)
    sink = []
    p.bind(Recorder(sink=lambda it, **kw: sink.append(kw)))
    ask, calls = _asker([(CUT, "length"), (GOOD, "stop")])
    prop = p.converse(ctx, ask=ask)
    assert prop.mechanisms == ["temperature_ignition", "rh_limiter", "fuel_ramp"]
    assert [m["role"] for m in sink] == ["system", "user", "assistant", "user", "assistant"]
    assert sink[2]["content"] == CUT  # the cut-off answer is in the journal as it came
    assert "cut off" in calls[1][-1] and "max_tokens = 20" in calls[1][-1]


@pytest.mark.parametrize("reason", ["length", "max_tokens"])
def test_answers_cut_off_to_the_end_end_in_a_rejection_not_a_crash(ctx, monkeypatch, reason):
    p = _proposer(monkeypatch, compact=True, max_retries=1)
    # a complete JSON cut at the limit still counts as cut off: the backend says it stopped
    ask, calls = _asker([(CUT, reason), (GOOD, reason)])
    with pytest.raises(ProposalError, match=f"cut off.*finish_reason '{reason}'"):
        p.converse(ctx, ask=ask)
    assert len(calls) == 2
