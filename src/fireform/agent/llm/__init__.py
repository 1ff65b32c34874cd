"""LLM proposers: ``openai`` (any OpenAI-compatible endpoint), ``anthropic``, ``local``.

Importing this package registers the three names with :func:`fireform.agent.base.make_proposer`;
the client libraries are imported only when a proposer is made, so the package imports without
the ``llm`` / ``llm-local`` extras.
"""

from fireform.agent.llm.backends import AnthropicProposer, OpenAIProposer
from fireform.agent.llm.core import Completion, LLMError, LLMProposer, Verdict, check_answer
from fireform.agent.llm.local import LocalProposer, model_path
from fireform.agent.llm.prompting import answer_schema, build_messages, render_context
from fireform.agent.llm.secrets import redact

__all__ = [
    "AnthropicProposer",
    "Completion",
    "LLMError",
    "LLMProposer",
    "LocalProposer",
    "OpenAIProposer",
    "Verdict",
    "answer_schema",
    "build_messages",
    "check_answer",
    "model_path",
    "redact",
    "render_context",
]
