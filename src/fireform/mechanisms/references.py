"""Read ``references.bib`` (the library's bibliography) without a BibTeX dependency.

A small brace-matching reader, enough for the entries we write: ``@type{key, field = {value},
...}``. It is used to check that every cited key exists and to print references in the CLI.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from fireform.exceptions import CorruptFileError

__all__ = ["bib_entries", "bib_keys", "parse_bib"]

_HEAD = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")
_FIELD = re.compile(r"\s*(\w+)\s*=\s*")


def _braced(text: str, i: int, where: str) -> tuple[str, int]:
    """The content of the brace group opening at ``text[i]`` and the index after it."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
    raise CorruptFileError(f"{where}: unbalanced braces starting at character {i}")


def parse_bib(text: str, *, where: str = "references.bib") -> dict[str, dict[str, str]]:
    """Entries by key: ``{"ENTRYTYPE": type, field: value, ...}`` (values without outer braces)."""
    out: dict[str, dict[str, str]] = {}
    pos = 0
    while (m := _HEAD.search(text, pos)) is not None:
        etype, key = m.group(1).lower(), m.group(2)
        body, end = _braced(text, text.index("{", m.start()), where)
        fields: dict[str, str] = {"ENTRYTYPE": etype}
        rest = body[len(key) :].lstrip().lstrip(",")
        k = 0
        while (f := _FIELD.match(rest, k)) is not None:
            name, k = f.group(1).lower(), f.end()
            if k < len(rest) and rest[k] == "{":
                value, k = _braced(rest, k, where)
            else:  # bare number or quoted string
                vm = re.match(r'"([^"]*)"|([^,]+)', rest[k:])
                value = (vm.group(1) or vm.group(2) or "").strip() if vm else ""
                k += vm.end() if vm else 0
            fields[name] = " ".join(value.split())
            k = rest.find(",", k) + 1 if rest.find(",", k) >= 0 else len(rest)
        if key in out:
            raise CorruptFileError(f"{where}: duplicate BibTeX key {key!r}")
        out[key] = fields
        pos = end
    return out


@lru_cache(maxsize=1)
def bib_entries() -> dict[str, dict[str, str]]:
    """The library's bibliography, parsed once."""
    text = resources.files("fireform.mechanisms").joinpath("references.bib").read_text()
    return parse_bib(text)


def bib_keys() -> frozenset[str]:
    return frozenset(bib_entries())
