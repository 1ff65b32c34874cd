"""Answer schemas whose every answer closes, and the longest answer they admit.

A grammar-constrained backend (llama-cpp-python locally, llama.cpp's server) turns the answer
schema into a grammar. A string without ``maxLength`` or a list without ``maxItems`` becomes an
unbounded repetition, and a degenerate model (one that repeats "1.0.0.0..." in a rationale, as
Gemma 3 270M does on some CPUs) then writes until ``max_tokens`` and the JSON is cut off.
:func:`bound_schema` makes every part of the schema finite:

- every string that is not an enum gets a ``pattern`` ``^[TEXT_CHARS]{min,max}$`` taken from its
  own ``minLength``/``maxLength``, the latter cut to :data:`GRAMMAR_MAX_CHARS` (what llama.cpp's
  grammar parser accepts); a string without ``maxLength`` is an error naming its path.
  llama.cpp's converter reads the bound from the pattern (it ignores ``maxLength`` when a pattern
  is present), and :data:`TEXT_CHARS` is printable ASCII without ``"``, ``\\``, ``<`` and ``>``:
  no escapes, no multi-byte characters (each character is one byte) and no chat template's stop
  string (which would end the answer early);
- every list needs ``maxItems`` and every object ``additionalProperties: false`` (free maps are
  rewritten by the caller into named properties).

:func:`answer_bytes_bound` is then the length in bytes of the longest JSON text the grammar
admits. A token the grammar accepts is at least one byte (llama.cpp rejects empty pieces), so it
also bounds the tokens of any answer: ``max_tokens`` of at least this (plus the end-of-turn token)
can never cut a grammar-constrained answer off.
"""

from __future__ import annotations

import copy
import json

from fireform.exceptions import FireformError

__all__ = ["TEXT_CHARS", "GRAMMAR_MAX_CHARS", "ANSWER_TOKEN_MARGIN", "bound_schema", "answer_bytes_bound"]

# printable ASCII except '"' and '\' (no escapes) and '<' '>' (so no chat template's stop
# string, "<end_of_turn>" and the like, can be spelled inside an answer), as a class body
TEXT_CHARS = r" !#-;=?-\[\]-~"
# llama.cpp's grammar parser refuses a string with more than ~1000 optional characters (the
# converter nests one group per character; measured with llama-cpp-python 0.3.36: minLength 10
# and maxLength 1010 parse, 1011 do not), and llama-cpp-python then crashes at the first token.
# Longer Proposal limits (the rationale's 3000) are cut to this in the grammar, never raised.
GRAMMAR_MAX_CHARS = 1000
# the end-of-turn token, and slack for a backend that counts a token or two more than it shows
ANSWER_TOKEN_MARGIN = 8
# the longest number llama.cpp's grammar writes: sign, 16 integer digits, point, 16 decimals,
# exponent with sign and 16 digits, then a space
_NUMBER_BYTES = 1 + 16 + 1 + 16 + 2 + 16 + 1
_PRIMITIVE_BYTES = {"number": _NUMBER_BYTES, "integer": 1 + 16 + 1, "boolean": len("false") + 1,
                    "null": len("null") + 1}


def _text_pattern(lo: int, hi: int) -> str:
    return f"^[{TEXT_CHARS}]{{{lo},{hi}}}$"


def bound_schema(schema: dict) -> dict:
    """A copy of ``schema`` with a bounded text pattern on every free string; raises
    :class:`FireformError` naming the path of any string, list or object left unbounded."""
    out = copy.deepcopy(schema)

    def walk(node: dict, path: str) -> None:
        if "$ref" in node or "enum" in node or "const" in node:
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for i, sub in enumerate(node.get(key, [])):
                walk(sub, f"{path}.{key}[{i}]")
        kind = node.get("type")
        if kind == "string":
            if "maxLength" not in node:
                raise FireformError(f"answer schema: string {path} has no maxLength, so a grammar "
                                    "built from it would not be bounded")
            if int(node["maxLength"]) > GRAMMAR_MAX_CHARS:
                node["maxLength"] = GRAMMAR_MAX_CHARS
            if int(node.get("minLength", 0)) > int(node["maxLength"]):
                raise FireformError(f"answer schema: string {path} has minLength {node['minLength']} "
                                    f"above its maxLength {node['maxLength']}")
            if "pattern" not in node:
                node["pattern"] = _text_pattern(int(node.get("minLength", 0)), int(node["maxLength"]))
        elif kind == "array":
            if "maxItems" not in node or not isinstance(node.get("items"), dict):
                raise FireformError(f"answer schema: list {path} has no maxItems (or no single items "
                                    "schema), so a grammar built from it would not be bounded")
            walk(node["items"], f"{path}[]")
        elif kind == "object":
            if node.get("additionalProperties", True) is not False:
                raise FireformError(f"answer schema: object {path} admits free keys "
                                    "(additionalProperties is not false), so its grammar is unbounded")
            for name, sub in node.get("properties", {}).items():
                walk(sub, f"{path}.{name}")

    for name, sub in out.get("$defs", {}).items():
        walk(sub, f"$defs.{name}")
    walk(out, "answer")
    return out


def _ascii_pattern(pattern: str) -> bool:
    """True for the patterns whose every character is one byte: ASCII literals and classes,
    no '.', no negated class and no escapes that reach beyond ASCII."""
    return (pattern.isascii() and "." not in pattern and "[^" not in pattern
            and not any(e in pattern for e in ("\\u", "\\x", "\\U", "\\S", "\\W", "\\D", "\\p")))


def answer_bytes_bound(schema: dict) -> int:
    """Bytes of the longest JSON text llama.cpp's grammar for ``schema`` admits (an upper bound:
    every optional space counted, as the converter writes ``" "?`` after each value and ``:``).

    Strings without an ASCII pattern count 6 bytes a character (a ``\\uXXXX`` escape). Raises
    :class:`FireformError` naming the path of anything unbounded.
    """
    defs = schema.get("$defs", {})

    def size(node: dict, path: str) -> int:
        if "$ref" in node:
            ref = node["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith("#/$defs/") or name not in defs:
                raise FireformError(f"answer schema: {path} refers to {ref!r}, which is not in $defs")
            return size(defs[name], f"{path}->{name}")
        if "enum" in node or "const" in node:
            values = node.get("enum", [node.get("const")])
            return max(len(json.dumps(v).encode()) for v in values) + 1
        alts = node.get("anyOf") or node.get("oneOf")
        if alts:
            return max(size(a, f"{path}|{i}") for i, a in enumerate(alts))
        kind = node.get("type")
        if kind in _PRIMITIVE_BYTES:
            return _PRIMITIVE_BYTES[kind]
        if kind == "string":
            if "maxLength" not in node:
                raise FireformError(f"answer schema: string {path} has no maxLength")
            per_char = 1 if _ascii_pattern(node.get("pattern", "[^]")) else 6
            return 2 + per_char * int(node["maxLength"]) + 1  # quotes, text, space
        if kind == "array":
            if "maxItems" not in node:
                raise FireformError(f"answer schema: list {path} has no maxItems")
            item = size(node["items"], f"{path}[]")
            return 2 + 1 + int(node["maxItems"]) * (item + 2)  # brackets, space; ", " per item
        if kind == "object":
            if node.get("additionalProperties", True) is not False:
                raise FireformError(f"answer schema: object {path} admits free keys")
            total = 2 + 1  # braces, space
            for name, sub in node.get("properties", {}).items():
                # "name" space ":" space value "," space
                total += len(json.dumps(name).encode()) + 3 + size(sub, f"{path}.{name}") + 2
            return total
        raise FireformError(f"answer schema: {path} has no bounded type ({node!r:.200})")

    return size(schema, "answer")
