"""The proposer interface every form-layer agent implements (heuristic here, LLMs in llm.py).

A proposer turns an :class:`~fireform.agent.context.AgentContext` (training-side information
only) into a :class:`~fireform.agent.proposal.Proposal`, or ``None`` when it has nothing left to
propose (the loop then stops searching). The loop calls :meth:`Proposer.bind` with a
:class:`Recorder` before each call; LLM proposers must send every prompt and response through
``self.record(...)`` so they land in the journal with token counts and cost, and the recorder
enforces the spec's token and cost budgets (raising ``BudgetExhaustedError``).

Contract (tested for every implementation): ``propose`` never raises for a bad model answer
(it returns a Proposal, possibly one that grounding will reject, or None); it never sees
holdout data; the same context gives the same proposal for deterministic proposers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from fireform.exceptions import BudgetExhaustedError, UnknownNameError

__all__ = ["Proposer", "Recorder", "Usage", "make_proposer", "PROPOSERS", "register_proposer"]


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


@dataclass
class Recorder:
    """Journals prompts/responses and counts tokens and cost against the budgets (0 = none)."""

    sink: Callable[..., None] | None = None  # journal.add_message-like (iteration, **kw)
    iteration: int = 0
    proposer: str = ""
    max_tokens: int = 0
    max_cost_usd: float = 0.0
    usage: Usage = field(default_factory=Usage)

    def record(self, role: str, content: str, *, tokens_in: int = 0, tokens_out: int = 0,
               cost_usd: float = 0.0, model: str = "") -> None:
        self.usage.tokens_in += int(tokens_in)
        self.usage.tokens_out += int(tokens_out)
        self.usage.cost_usd += float(cost_usd)
        if self.sink is not None:
            self.sink(self.iteration, proposer=self.proposer, role=role, content=content,
                      tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost_usd, model=model)
        self.check_budget()

    def check_budget(self) -> None:
        if self.max_tokens and self.usage.tokens > self.max_tokens:
            raise BudgetExhaustedError(
                f"LLM token budget spent: {self.usage.tokens} > budget.llm_tokens = {self.max_tokens}"
            )
        if self.max_cost_usd and self.usage.cost_usd > self.max_cost_usd:
            raise BudgetExhaustedError(
                f"LLM cost budget spent: ${self.usage.cost_usd:.4f} > budget.llm_cost_usd = "
                f"${self.max_cost_usd:.4f}"
            )


class Proposer(ABC):
    """Base class: subclasses set ``name`` and implement :meth:`propose`."""

    name: str = "base"

    def __init__(self, **settings) -> None:
        self.settings = dict(settings)
        self.recorder = Recorder()

    def bind(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def record(self, role: str, content: str, **kw) -> None:
        self.recorder.record(role, content, **kw)

    @abstractmethod
    def propose(self, context):
        """Return the next Proposal (or None when nothing is left to propose)."""


PROPOSERS: dict[str, Callable[..., Proposer]] = {}


def register_proposer(name: str, factory: Callable[..., Proposer]) -> None:
    PROPOSERS[name] = factory


def make_proposer(name: str, **settings) -> Proposer:
    """The proposer ``name`` from the registry (``heuristic``, ``openai``, ``anthropic``,
    ``local``: :mod:`fireform.agent` registers them on import)."""
    if name not in PROPOSERS:
        raise UnknownNameError(f"unknown proposer {name!r}; valid: {', '.join(sorted(PROPOSERS))}")
    return PROPOSERS[name](**settings)
