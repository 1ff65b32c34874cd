"""The logic every LLM proposer shares: prompt, ask, parse, ground, send reasons back, count.

One call of :meth:`LLMProposer.propose`:

1. build the messages from the prompt files and the context (:mod:`.prompting`) and journal
   them (``system``, ``user``) through the recorder;
2. ask the backend (:meth:`LLMProposer._complete`), retrying timeouts, rate limits, dropped
   connections and 5xx answers with exponential backoff ``backoff_s * 2**k`` capped at
   ``backoff_max_s``, at most ``max_transient_retries`` times (each retry journaled as an
   ``error`` message); other API errors raise :class:`LLMError` (the run fails and can be
   resumed);
3. journal the answer (``assistant``) with its token counts and estimated cost; the recorder
   adds them to the run's usage and raises ``BudgetExhaustedError`` when the spec's budget is
   spent (the loop stops searching cleanly and finishes the run);
4. :meth:`LLMProposer.judge`: an answer the backend stopped at ``max_tokens`` (finish reason
   ``length`` / ``max_tokens``) is rejected as cut off; otherwise :func:`check_answer` parses it
   with the Proposal schema and runs the grounding checks (with the training drivers when the
   loop bound them). A cut-off, malformed or ungrounded answer goes back to the model with the
   reasons (``retry.md``), at most ``max_retries`` times. ``max_tokens`` defaults to room for the
   longest answer the schema admits (:mod:`.grammar`), so a grammar-constrained answer is never
   cut off unless ``max_tokens`` is set lower;
5. return the first grounded Proposal; after the last retry, the last parseable Proposal (the
   loop grounds it again and journals the rejection with its reasons) or, if none parsed,
   ``ProposalError`` with the last reasons (the loop journals it as a schema rejection and goes
   on; the raw answers are in the journal's messages).

Nothing an LLM writes is executed: answers are JSON parsed into a pydantic model, expressions
go through the safe expression parser, and mechanism ids are looked up in the registry.
Every journaled text, raised message and client log record is redacted (:mod:`.secrets`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fireform.agent.base import Proposer
from fireform.agent.llm.grammar import ANSWER_TOKEN_MARGIN, answer_bytes_bound
from fireform.agent.llm.pricing import Price, price_for
from fireform.agent.llm.prompting import (
    Message,
    answer_schema,
    build_messages,
    merge_system,
    move_to_proposal,
    render_retry,
)
from fireform.agent.llm.secrets import install_log_filter, redact
from fireform.agent.proposal import Proposal, ground, parse_proposal
from fireform.exceptions import BudgetExhaustedError, FireformError, ProposalError

if TYPE_CHECKING:
    from fireform.drivers import Drivers

__all__ = ["Completion", "LLMError", "LLMProposer", "Verdict", "check_answer", "COMMON_SETTINGS"]

# settings every LLM proposer accepts (backends add their own); anything else is an error
COMMON_SETTINGS = {
    "model": "model name (default: env FIREFORM_LLM_MODEL, then the backend's default)",
    "max_retries": "answers sent back with reasons per proposal (default 2)",
    "max_transient_retries": "retries of timeouts/rate limits/5xx per call (default 4)",
    "backoff_s": "first backoff wait in seconds (default 1.0), doubled each retry",
    "backoff_max_s": "cap on one backoff wait (default 30)",
    "timeout_s": "seconds per request (default 120)",
    "temperature": "sampling temperature",
    "max_tokens": "cap on answer tokens (default auto: room for the longest answer the schema admits)",
    "seed": "sampling seed, where the backend has one",
    "compact": "use the compact prompt (small models)",
    "new_terms": "allow new terms in the answer schema (default true)",
    "merge_system": "fold the system prompt into the first user message (templates without a system role)",
    "price_in_per_mtok": "US$ per million input tokens (overrides prices.yml)",
    "price_out_per_mtok": "US$ per million output tokens (overrides prices.yml)",
}


# finish reasons of an answer stopped by the token limit: OpenAI and llama.cpp, Anthropic
CUT_OFF = frozenset({"length", "max_tokens"})


class LLMError(FireformError):
    """An LLM backend could not be reached or refused the request (message redacted)."""


@dataclass(frozen=True)
class Completion:
    """One answer of a backend: text and the tokens it cost."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""
    finish_reason: str = ""


@dataclass(frozen=True)
class Verdict:
    """Outcome of :func:`check_answer`: the proposal (when it parsed) and the reasons against it."""

    ok: bool
    reasons: tuple[str, ...] = ()
    proposal: Proposal | None = None


def check_answer(text: str, *, tried: Sequence[str] = (), catalog: Sequence[dict] = (),
                 drivers: Drivers | None = None) -> Verdict:
    """Parse a model's answer and run the grounding checks; never raises for a bad answer.

    ``catalog`` (the context's) adds one check the driver-free grounding cannot do: library
    mechanisms whose inputs are not in the training data. ``drivers`` (training only) enables
    the input and [0, 1] range checks of :func:`~fireform.agent.proposal.ground`.
    """
    try:
        prop = parse_proposal(text)
    except ProposalError as e:
        return Verdict(False, (f"schema: {e}",))
    reasons: list[str] = []
    missing = {m["id"]: m["inputs"] for m in catalog if not m.get("available", True)}
    bad = [f"{i} (needs {', '.join(missing[i])})" for i in prop.mechanisms if i in missing]
    if bad and drivers is None:
        reasons.append(f"mechanisms whose inputs are not in the training data: {', '.join(bad)}")
    g = ground(prop, drivers=drivers, tried=tried)
    reasons += list(g.reasons)
    return Verdict(not reasons, tuple(reasons), prop)


def _setting(settings: dict, key: str, default, kind: Callable):
    v = settings.get(key, default)
    try:
        return kind(v)
    except (TypeError, ValueError):
        raise FireformError(f"proposer.settings.{key} = {v!r}: expected {kind.__name__}") from None


class LLMProposer(Proposer):
    """Base of the ``openai``, ``anthropic`` and ``local`` proposers (see the module docstring).

    Subclasses set ``name``, ``provider`` (price table section), ``default_model`` and
    ``extra_settings``, and implement :meth:`_complete`; :meth:`_is_transient` classifies
    backend exceptions.
    """

    name = "llm"
    provider = ""
    default_model = ""
    extra_settings: dict[str, str] = {}
    compact_default = False
    defaults: dict = {}
    # auto max_tokens never asks for more: output limits of API models (4096 on older ones);
    # a longer answer is cut off and rejected with that reason (see converse)
    max_tokens_cap: int | None = 4096

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        install_log_filter()
        known = set(COMMON_SETTINGS) | set(self.extra_settings)
        if "api_key" in settings or "key" in settings:
            raise FireformError(
                f"proposer {self.name!r}: do not put an API key in the spec (the spec is frozen into "
                f"the journal and the report); set the environment variable instead"
            )
        unknown = sorted(set(settings) - known)
        if unknown:
            raise FireformError(f"proposer {self.name!r}: unknown settings {unknown}; valid: "
                                f"{', '.join(sorted(known))}")
        s = {**self.defaults, **settings}
        self.model = str(s.get("model") or os.environ.get("FIREFORM_LLM_MODEL") or self.default_model)
        self.max_retries = max(0, _setting(s, "max_retries", 2, int))
        self.max_transient = max(0, _setting(s, "max_transient_retries", 4, int))
        self.backoff_s = max(0.0, _setting(s, "backoff_s", 1.0, float))
        self.backoff_max_s = max(0.0, _setting(s, "backoff_max_s", 30.0, float))
        self.timeout_s = _setting(s, "timeout_s", 120.0, float)
        self.temperature = _setting(s, "temperature", 0.2, float)
        auto = s.get("max_tokens", "auto") in ("auto", None)
        self.max_tokens: int | None = None if auto else max(1, _setting(s, "max_tokens", 0, int))
        self.seed = _setting(s, "seed", 0, int)
        self.compact = bool(s.get("compact", self.compact_default))
        self.new_terms = bool(s.get("new_terms", True))
        self.merge_system = bool(s.get("merge_system", False))
        self.price: Price = price_for(self.provider, self.model, settings=s)
        self._drivers: Drivers | None = None
        self._s = s

    # -- hooks -------------------------------------------------------------------------------
    def bind_training(self, drivers: Drivers) -> None:
        """Ground answers against the *training* drivers (range checks) before the loop does."""
        self._drivers = drivers

    def check_start(self, budget=None) -> None:
        """Fail before any fit when the cost budget cannot be counted for this model."""
        if budget is not None and getattr(budget, "llm_cost_usd", None) and not self.price.known:
            raise FireformError(
                f"proposer {self.name!r}: budget.llm_cost_usd is set but prices.yml has no price for "
                f"model {self.model!r}; set proposer.settings.price_in_per_mtok and price_out_per_mtok"
            )

    def _complete(self, messages: Sequence[Message], schema: dict) -> Completion:  # pragma: no cover
        raise NotImplementedError

    def tokens_for(self, schema: dict) -> int:
        """``max_tokens`` of a request: the setting, or (auto) room for the longest answer
        ``schema`` admits, at most ``max_tokens_cap`` (what API models accept; None: no cap)."""
        if self.max_tokens is not None:
            return self.max_tokens
        n = answer_bytes_bound(schema) + ANSWER_TOKEN_MARGIN
        return n if self.max_tokens_cap is None else min(n, self.max_tokens_cap)

    def _is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, (TimeoutError, ConnectionError))

    # -- the shared conversation ---------------------------------------------------------------
    def schema(self, context) -> dict:
        return answer_schema(context.catalog, compact=self.compact, new_terms=self.new_terms,
                             incumbent=context.incumbent["terms"])

    def interpret(self, text: str, context) -> tuple[str, tuple[str, ...]]:
        """Proposal text from an answer: as is, or a compact move applied to the incumbent."""
        if not self.compact:
            return text, ()
        m = move_to_proposal(text, context.incumbent["terms"])
        return m.text, m.reasons

    def messages(self, context) -> list[Message]:
        return build_messages(context, compact=self.compact)

    def _record(self, role: str, content: str, **kw) -> None:
        self.record(role, redact(content), model=self.model, **kw)

    def _ask(self, messages: Sequence[Message], schema: dict) -> Completion:
        """One completion with bounded exponential backoff on transient failures."""
        wire = list(messages)
        if self.merge_system:
            wire = merge_system(wire)
        for k in range(self.max_transient + 1):
            self.recorder.check_budget()  # never send a prompt once the budget is spent
            try:
                return self._complete(wire, schema)
            except (BudgetExhaustedError, LLMError):
                raise
            except Exception as e:  # noqa: BLE001  (classified below; re-raised redacted)
                what = redact(f"{type(e).__name__}: {e}")
                if not self._is_transient(e):
                    raise LLMError(f"proposer {self.name!r} ({self.model}): {what}") from None
                if k == self.max_transient:
                    self._record("error", f"{what}; giving up after {k + 1} attempts")
                    raise LLMError(f"proposer {self.name!r} ({self.model}): {k + 1} attempts failed; "
                                   f"last: {what}") from None
                wait = min(self.backoff_s * 2**k, self.backoff_max_s)
                self._record("error", f"{what}; retry {k + 1}/{self.max_transient} in {wait:.2f} s")
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def judge(self, c: Completion, schema: dict, context) -> Verdict:
        """The verdict on one answer: cut off (the backend stopped at max_tokens), not a valid
        move, or :func:`check_answer`'s. Never raises for a bad answer."""
        if c.finish_reason in CUT_OFF:
            return Verdict(False, (
                f"cut off: the answer stopped at max_tokens = {self.tokens_for(schema)} (finish_reason "
                f"{c.finish_reason!r}) before its JSON closed; answer shorter, within the schema's "
                f"maxLength limits",))
        text, why = self.interpret(c.text, context)
        if why:
            return Verdict(False, why)
        return check_answer(text, tried=context.tried, catalog=context.catalog, drivers=self._drivers)

    def converse(self, context, ask: Callable[[Sequence[Message], dict], Completion] | None = None):
        """The prompt -> answer -> check -> feedback loop; ``ask`` defaults to the backend."""
        ask = ask or self._ask
        msgs = self.messages(context)
        schema = self.schema(context)
        for m in msgs:
            self._record(m.role, m.content)
        last_prop: Proposal | None = None
        last_reasons: tuple[str, ...] = ()
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            c = ask(msgs, schema)
            cost = self.price.cost(c.tokens_in, c.tokens_out)
            # journal first; the recorder then raises if this answer spent the budget
            self._record("assistant", c.text, tokens_in=c.tokens_in, tokens_out=c.tokens_out,
                         cost_usd=cost)
            v = self.judge(c, schema, context)
            if v.ok:
                return v.proposal
            last_reasons = v.reasons
            if v.proposal is not None:
                last_prop = v.proposal
            if attempt == attempts:
                break
            feedback = render_retry(v.reasons, attempt=attempt, max_attempts=attempts)
            msgs = msgs + [Message("assistant", c.text), Message("user", feedback)]
            self._record("user", feedback)
        if last_prop is not None:  # the loop grounds it again and journals the rejection
            return last_prop
        # nothing parseable: the loop journals a rejection with these reasons (the raw answers
        # are in the journal's messages)
        raise ProposalError(redact(f"no parseable answer after {attempts} attempts; last: "
                                   + "; ".join(last_reasons)))

    def propose(self, context):
        return self.converse(context)

