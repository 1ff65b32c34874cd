"""Every proposer implementation against the proposer contract (fireform.testing.proposers)."""

from __future__ import annotations

import json

from fireform.agent import HeuristicProposer
from fireform.agent.llm import Completion, LLMProposer
from fireform.testing.proposers import ProposerContract


class TestHeuristic(ProposerContract):
    def make_proposer(self):
        return HeuristicProposer()


class _Scripted(LLMProposer):
    """The real LLM proposer logic (prompt, parse, ground, retry with reasons, journal, count)
    over a scripted transport: the first answer is malformed, the second a grounded proposal."""

    name = "scripted"
    provider = "scripted"
    default_model = "scripted-1"
    answers = ("not json at all", json.dumps({
        "mechanisms": ["rh_limiter", "temperature_ignition", "gpp_gating"],
        "rationale": "GPP gating adds the fuel build-up that the humidity limiter misses.",
        "action": "add"}))

    def __init__(self, **settings):
        super().__init__(**settings)
        self._k = 0

    def _complete(self, messages, schema):
        text = self.answers[min(self._k, len(self.answers) - 1)]
        self._k += 1
        return Completion(text=text, tokens_in=100, tokens_out=20, model=self.model)


class TestScriptedLLM(ProposerContract):
    def make_proposer(self):
        return _Scripted(max_retries=2)
