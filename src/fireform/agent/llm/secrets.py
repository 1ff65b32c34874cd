"""Keeping API keys out of the journal, logs, reports and exceptions.

A key is read from the environment only (never from the spec, which is frozen into the journal)
by :func:`read_key`. :func:`redact` replaces, in any text, every known secret value (the keys
read here and the values of environment variables whose names look secret) and anything shaped
like a provider key (``sk-...``, ``sk-ant-...``, ``Bearer ...``) by ``[REDACTED]``. Every
message the LLM proposers journal, every exception they raise and every log record of the
``openai``/``anthropic``/``httpx`` loggers passes through it.
"""

from __future__ import annotations

import logging
import os
import re

from fireform.exceptions import FireformError

__all__ = ["REDACTED", "read_key", "redact", "secret_values", "install_log_filter", "secret_in"]

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
# provider-shaped keys, even ones we were never told about (e.g. echoed back by a server)
_SHAPES = re.compile(r"((?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_\-]{8,}|(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{8,}|(?<=Bearer )[A-Za-z0-9_\-.]{8,})")
_KNOWN: set[str] = set()
_LOGGERS = ("openai", "anthropic", "httpx", "httpx2", "httpcore", "fireform")


def read_key(env: str, *, proposer: str) -> str:
    """The key in environment variable ``env``; FireformError naming the variable if unset."""
    key = os.environ.get(env, "").strip()
    if not key:
        raise FireformError(
            f"proposer {proposer!r} needs an API key in the environment variable {env} "
            f"(it is unset or empty). Export it before `fireform run`; for a local server that "
            f"checks no key, any placeholder works (e.g. {env}=none). Keys are never read from "
            f"the spec, which is journaled."
        )
    if len(key) >= 6:
        _KNOWN.add(key)
    return key


def secret_values() -> set[str]:
    """Known secrets: keys read so far and environment values under secret-looking names."""
    vals = set(_KNOWN)
    for name, v in os.environ.items():
        if _SECRET_NAME.search(name) and len(v.strip()) >= 6:
            vals.add(v.strip())
    return vals


def redact(text) -> str:
    """``text`` with every secret replaced by ``[REDACTED]``."""
    s = str(text)
    for v in sorted(secret_values(), key=len, reverse=True):
        if v in s:
            s = s.replace(v, REDACTED)
    return _SHAPES.sub(REDACTED, s)


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001  (a broken record is not ours to fix)
            return True
        clean = redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactFilter()


def install_log_filter() -> None:
    """Redact secrets from the records of the client libraries' loggers (idempotent)."""
    for name in _LOGGERS:
        lg = logging.getLogger(name)
        if _FILTER not in lg.filters:
            lg.addFilter(_FILTER)


_CREDENTIAL_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]+:[^/\s@]+@")
_SECRET_FIELD = re.compile(r"(^|_)(api_?key|key|token|secret|password|passwd|credentials?)$", re.IGNORECASE)


def secret_in(name: str, value) -> str | None:
    """Why ``name = value`` (a setting of a spec) holds a secret, or None: a field named like a
    secret (``api_key``, ``token``, ...; ``api_key_env``, which names a variable, is fine), a URL
    with a password in it, or a provider-shaped key."""
    if _SECRET_FIELD.search(str(name)) and value not in (None, "", [], {}):
        return f"a field named {name!r} holds a secret"
    text = str(value)
    if _CREDENTIAL_URL.search(text):
        return f"{name!r} is a URL with a user and password in it"
    if _SHAPES.search(text) or any(v in text for v in secret_values()):
        return f"{name!r} holds what looks like an API key"
    return None
