"""The real LLM proposers against the proposer contract (fireform.testing.proposers): `local`
(Gemma 3 270M through llama-cpp-python) and `openai` (the OpenAI client against llama.cpp's
OpenAI-compatible server on loopback). Slow: run by `make test-llm`, as CI does."""

from __future__ import annotations

import pytest

from fireform.agent.llm import LocalProposer, OpenAIProposer, model_path
from fireform.testing.proposers import ProposerContract
from llm_fixtures import llama_server

KEY = "contract-test-key-1234"
SETTINGS = {"model": "gemma-3-270m", "compact": True, "merge_system": True, "timeout_s": 300,
            "max_retries": 1}

pytestmark = pytest.mark.slow


class TestLocal(ProposerContract):
    deterministic = False  # sampling; the contract's other points hold for any answer
    test_same_context_same_proposal_when_deterministic = None  # not collected: a sampling proposer

    def make_proposer(self):
        return LocalProposer(max_retries=1)


@pytest.fixture(scope="module")
def server():
    with llama_server(model_path(), api_key=KEY) as base:
        yield base


class TestOpenAIOnLoopback(ProposerContract):
    deterministic = False
    test_same_context_same_proposal_when_deterministic = None  # not collected: a sampling proposer

    @pytest.fixture(autouse=True)
    def _endpoint(self, server, monkeypatch):
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        self.url = server

    def make_proposer(self):
        return OpenAIProposer(base_url=self.url, **SETTINGS)
