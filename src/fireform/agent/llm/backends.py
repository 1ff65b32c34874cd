"""API backends: any OpenAI-compatible chat endpoint, and Anthropic's Messages API.

``openai`` (official ``openai`` client): OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio.
Base URL from ``settings.base_url`` or ``OPENAI_BASE_URL``; model from ``settings.model`` or
``FIREFORM_LLM_MODEL``; key from the environment variable ``settings.api_key_env`` (default
``OPENAI_API_KEY``). Structured output, ``settings.structured``:

- ``auto`` (default): ``response_format = json_schema`` (native structured output; the schema of
  :func:`~fireform.agent.llm.prompting.answer_schema`, ``strict`` from ``settings.strict``,
  default false because strict mode forbids the free-form ``term_rationales`` map); if the
  server refuses it (HTTP 400/422, or any error naming ``response_format``), ``json_object`` with the schema attached (llama.cpp's
  server turns that into a grammar), then plain ``json_object``, then no response_format with
  the schema in the prompt. Each fallback is journaled and remembered for the run.
  ``max_tokens`` defaults to room for the longest answer the schema admits (capped at 4096, what
  API models accept): a grammar-constrained server's answer then always closes.
- ``json_schema`` | ``json_object`` | ``none``: that mode only.

``anthropic`` (official ``anthropic`` client): key from ``ANTHROPIC_API_KEY`` (or
``settings.api_key_env``); structure by forced tool use (a ``propose_form`` tool whose
``input_schema`` is the answer schema; ``settings.structured = "tool"``, default) or by
instruction only (``"json"``).

The clients' own retries are switched off (``max_retries=0``): retries and backoff are done by
:class:`~fireform.agent.llm.core.LLMProposer` so that each one is journaled and bounded.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Sequence
from typing import Any

from fireform.agent.base import register_proposer
from fireform.agent.llm.core import Completion, LLMProposer
from fireform.agent.llm.prompting import Message
from fireform.agent.llm.secrets import read_key
from fireform.exceptions import FireformError

__all__ = ["OpenAIProposer", "AnthropicProposer"]

_TRANSIENT_STATUS = {408, 409, 425, 429}


def _import(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise FireformError(
            f"the {module!r} client is not installed; install it with pip install 'fireform[{extra}]'"
        ) from None


def _schema_note(schema: dict) -> str:
    return ("\n\nThe answer must validate against this JSON schema:\n"
            + json.dumps(schema, separators=(",", ":")))


class _SDKProposer(LLMProposer):
    """A proposer over a vendor SDK (``self._sdk``: the ``openai`` or ``anthropic`` module), whose
    exception classes share their names: timeouts, connection errors, rate limits and 5xx answers
    are transient (retried), everything else is not."""

    _sdk: Any = None  # the SDK module, set when the client is made

    def _is_transient(self, exc: BaseException) -> bool:
        m = self._sdk
        if isinstance(exc, (m.APITimeoutError, m.APIConnectionError, m.RateLimitError,
                            m.InternalServerError)):
            return True
        status = getattr(exc, "status_code", None)
        return isinstance(status, int) and (status in _TRANSIENT_STATUS or status >= 500)


class OpenAIProposer(_SDKProposer):
    name = "openai"
    provider = "openai"
    default_model = "gpt-4o-mini"
    extra_settings = {
        "base_url": "OpenAI-compatible endpoint (default env OPENAI_BASE_URL, then OpenAI)",
        "api_key_env": "environment variable holding the key (default OPENAI_API_KEY)",
        "structured": "auto | json_schema | json_object | none",
        "strict": "json_schema strict mode (default false)",
    }
    MODES = ("json_schema", "json_object_schema", "json_object", "none")

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        s = self._s
        self.key_env = str(s.get("api_key_env") or "OPENAI_API_KEY")
        key = read_key(self.key_env, proposer=self.name)  # before the (slow) client import
        openai = _import("openai", "llm")
        self.base_url = s.get("base_url") or os.environ.get("OPENAI_BASE_URL") or None
        structured = str(s.get("structured", "auto"))
        if structured not in ("auto",) + self.MODES[:1] + self.MODES[2:]:
            raise FireformError(f"proposer.settings.structured = {structured!r}; valid: auto, "
                                "json_schema, json_object, none")
        self.modes = list(self.MODES) if structured == "auto" else [structured]
        self.strict = bool(s.get("strict", False))
        self._sdk = openai
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=self.timeout_s,
                                     max_retries=0)

    def _request(self, mode: str, messages: Sequence[Message], schema: dict) -> dict:
        wire = [m.as_dict() for m in messages]
        kw: dict = {"model": self.model, "messages": wire, "temperature": self.temperature,
                    "max_tokens": self.tokens_for(schema), "seed": self.seed}
        if mode == "json_schema":
            kw["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "proposal", "schema": schema, "strict": self.strict}}
        elif mode == "json_object_schema":
            kw["response_format"] = {"type": "json_object", "schema": schema}
        elif mode == "json_object":
            kw["response_format"] = {"type": "json_object"}
        if mode in ("json_object", "none") and wire and wire[-1]["role"] == "user":
            wire[-1] = {"role": "user", "content": wire[-1]["content"] + _schema_note(schema)}
        return kw

    def _complete(self, messages: Sequence[Message], schema: dict) -> Completion:
        o = self._sdk
        while True:
            mode = self.modes[0]
            try:
                r = self._client.chat.completions.create(**self._request(mode, messages, schema))
            except o.APIStatusError as e:
                # refusals of the response_format: 400/422 from most servers; llama-cpp-python's
                # server answers its request-validation error with a 500 naming the field
                refused = e.status_code in (400, 422) or "response_format" in str(e)
                if len(self.modes) == 1 or not refused:
                    raise
                self._record("error", f"structured output mode {mode!r} refused by the server "
                             f"(HTTP {getattr(e, 'status_code', '?')}): {str(e)[:300]}; falling back to "
                             f"{self.modes[1]!r}")
                self.modes.pop(0)
                continue
            choice = r.choices[0] if r.choices else None
            text = (choice.message.content or "") if choice is not None else ""
            u = r.usage
            return Completion(text=text, tokens_in=int(getattr(u, "prompt_tokens", 0) or 0),
                              tokens_out=int(getattr(u, "completion_tokens", 0) or 0),
                              model=str(r.model or self.model),
                              finish_reason=str(getattr(choice, "finish_reason", "") or ""))


class AnthropicProposer(_SDKProposer):
    name = "anthropic"
    provider = "anthropic"
    default_model = "claude-sonnet-4-20250514"
    extra_settings = {
        "base_url": "endpoint (default env ANTHROPIC_BASE_URL, then Anthropic)",
        "api_key_env": "environment variable holding the key (default ANTHROPIC_API_KEY)",
        "structured": "tool (forced tool use, default) | json (instruction only)",
    }
    TOOL = "propose_form"

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        s = self._s
        self.key_env = str(s.get("api_key_env") or "ANTHROPIC_API_KEY")
        key = read_key(self.key_env, proposer=self.name)  # before the (slow) client import
        anthropic = _import("anthropic", "llm")
        self.base_url = s.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL") or None
        self.structured = str(s.get("structured", "tool"))
        if self.structured not in ("tool", "json"):
            raise FireformError(f"proposer.settings.structured = {self.structured!r}; valid: tool, json")
        self._sdk = anthropic
        self._client = anthropic.Anthropic(api_key=key, base_url=self.base_url, timeout=self.timeout_s,
                                           max_retries=0)

    def request(self, messages: Sequence[Message], schema: dict) -> dict:
        """Keyword arguments of ``messages.create`` (system apart, same-role turns merged)."""
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        turns: list[dict] = []
        for m in messages:
            if m.role == "system":
                continue
            if turns and turns[-1]["role"] == m.role:
                turns[-1]["content"] += "\n\n" + m.content
            else:
                turns.append({"role": m.role, "content": m.content})
        kw: dict = {"model": self.model, "max_tokens": self.tokens_for(schema), "system": system,
                    "messages": turns, "temperature": self.temperature}
        if self.structured == "tool":
            kw["tools"] = [{"name": self.TOOL, "description": "Propose the next burned-fraction form "
                            "(the complete composition) with its rationale.", "input_schema": schema}]
            kw["tool_choice"] = {"type": "tool", "name": self.TOOL}
        elif turns and turns[-1]["role"] == "user":
            turns[-1]["content"] += _schema_note(schema)
        return kw

    @classmethod
    def answer_text(cls, message) -> str:
        """The proposal text of a Messages API answer: the tool input as JSON, else the text."""
        blocks = list(getattr(message, "content", []) or [])
        for b in blocks:
            if getattr(b, "type", "") == "tool_use" and getattr(b, "name", "") == cls.TOOL:
                return json.dumps(b.input)
        return "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", "") == "text")

    def _complete(self, messages: Sequence[Message], schema: dict) -> Completion:
        r = self._client.messages.create(**self.request(messages, schema))
        u = r.usage
        return Completion(text=self.answer_text(r), tokens_in=int(getattr(u, "input_tokens", 0) or 0),
                          tokens_out=int(getattr(u, "output_tokens", 0) or 0),
                          model=str(getattr(r, "model", "") or self.model),
                          finish_reason=str(getattr(r, "stop_reason", "") or ""))


register_proposer("openai", OpenAIProposer)
register_proposer("anthropic", AnthropicProposer)
