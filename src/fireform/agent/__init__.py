"""The form layer's agents: the proposer interface, the offline heuristic, LLM proposers, what an
agent may see (training-side context) and the grounding checks every proposal passes.

Importing the package registers every proposer name with :func:`make_proposer`."""

from fireform.agent import heuristic, llm  # noqa: F401  (importing registers the proposers)
from fireform.agent.base import PROPOSERS, Proposer, Recorder, Usage, make_proposer, register_proposer
from fireform.agent.context import AgentContext, TrainingView, build_context
from fireform.agent.heuristic import HeuristicProposer
from fireform.agent.proposal import Grounding, Proposal, ground, parse_proposal

__all__ = [
    "Proposer", "Recorder", "Usage", "make_proposer", "register_proposer", "PROPOSERS",
    "HeuristicProposer", "AgentContext", "TrainingView", "build_context",
    "Proposal", "Grounding", "ground", "parse_proposal",
]
