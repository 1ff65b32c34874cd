"""The `openai` proposer against a real OpenAI-compatible server on loopback: llama-cpp-python's
server with the packaged Gemma 3 270M, started here with an API key and stopped after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fireform.agent.base import Recorder
from fireform.agent.llm import LLMError, OpenAIProposer
from fireform.agent.llm.local import model_path
from fireform.exceptions import ProposalError
from fireform.loop.journal import Journal
from fireform.testing import tiny_drivers
from llm_fixtures import llama_server, make_context, tiny_spec

pytestmark = pytest.mark.slow

KEY = "sk-fireformSERVER-0123456789abcdefSECRET"
# max_tokens is auto: room for the longest answer the schema admits (a fixed 120 cut a rationale
# of up to 200 characters off when the model rambled, and json.loads failed on some CPUs)
SETTINGS = {"model": "gemma-3-270m", "compact": True, "merge_system": True,
            "temperature": 0.7, "timeout_s": 300, "max_retries": 1}


@pytest.fixture(scope="module")
def server():
    with llama_server(model_path(), api_key=KEY) as base:
        yield base


@pytest.mark.parametrize("temperature", [0.7, 1000.0], ids=["plain", "degenerate"])
def test_openai_backend_structured_output_from_a_real_server(server, tmp_path, monkeypatch, temperature):
    # at a temperature of 1000 sampling is near-uniform among the candidates llama.cpp keeps: the
    # answers are noise, and still parse because the server's grammar is bounded
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    drivers = tiny_drivers()
    ctx = make_context(drivers)
    j = Journal(tmp_path, create=True)
    p = OpenAIProposer(base_url=server, **{**SETTINGS, "temperature": temperature})
    p.bind(Recorder(sink=j.add_message, proposer="openai"))
    p.bind_training(drivers)
    try:
        prop = p.propose(ctx)
    except ProposalError as e:  # allowed: every answer was rejected with reasons
        prop, why = None, str(e)
    msgs = j.messages()
    answers = msgs[msgs.role == "assistant"]
    assert len(answers) >= 1 and (answers.tokens_in > 0).all() and (answers.tokens_out > 0).all()
    # llama.cpp's server refuses response_format json_schema; the fallback is journaled and the
    # schema then reaches it as a grammar: every answer is a JSON move with catalog ids
    assert p.modes[0] == "json_object_schema"
    assert msgs[msgs.role == "error"].content.str.contains("json_schema").any()
    ids = {m["id"] for m in ctx.catalog}
    limit = p.tokens_for(p.schema(ctx))
    for a in answers.content:  # the grammar closes every answer within max_tokens
        d = json.loads(a)
        assert set(d) == {"action", "add", "remove", "rationale"} and d["add"] in ids | {""}
        assert 10 <= len(d["rationale"]) <= 200
    assert (answers.tokens_out < limit).all(), (list(answers.tokens_out), limit)
    # every answer judged: each rejected one went back with its reasons, the last one decides
    feedback = msgs[(msgs.role == "user") & (msgs.id > answers.id.min())]
    assert len(feedback) == len(answers) - 1 and all("rejected" in f for f in feedback.content)
    if prop is not None:
        assert set(prop.mechanisms) <= ids
    else:
        assert why
    print(f"\nserver, temperature {temperature}: tokens out {list(answers.tokens_out)} (limit {limit}), "
          f"rationales {[len(json.loads(a)['rationale']) for a in answers.content]}")


def test_wrong_key_is_refused_and_not_leaked(server, monkeypatch):
    wrong = "sk-fireformWRONG-abcdef0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    p = OpenAIProposer(base_url=server, **SETTINGS)
    with pytest.raises(LLMError) as e:
        p.propose(make_context(tiny_drivers()))
    assert wrong not in str(e.value) and KEY not in str(e.value)
    assert "401" in str(e.value) or "Authentication" in str(e.value)


def test_fireform_run_with_openai_proposer_and_key_redaction(server, tmp_path):
    import tomllib  # noqa: F401  (spec written as TOML below)

    from fireform.loop.spec import parse_spec

    spec = parse_spec(tiny_spec("openai", {k: v for k, v in SETTINGS.items() if k != "model"}))
    f = tmp_path / "spec.toml"
    f.write_text(spec.to_toml())
    env = dict(os.environ, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server, FIREFORM_LLM_MODEL="gemma-3-270m")
    fireform = Path(sys.executable).with_name("fireform")
    r = subprocess.run([str(fireform), "run", str(f), "--run-dir", str(tmp_path / "run")], env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    j = Journal(tmp_path / "run")
    props = j.proposals()
    assert len(props) == 1 and props.iloc[0].proposer == "openai"
    assert props.iloc[0].status in ("keep", "discard", "reject")
    msgs = j.messages()
    assert (msgs[msgs.role == "assistant"].tokens_out > 0).all()
    assert (msgs[msgs.role == "assistant"].model == "gemma-3-270m").all()
    j.close()
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file())
    assert KEY.encode() not in blobs
    assert KEY not in r.stdout and KEY not in r.stderr
