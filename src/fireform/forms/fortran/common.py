"""Shared pieces of the Fortran generators: the real kind, identifiers, comments, line wrapping."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from fireform.exceptions import ExportError

__all__ = ["Kind", "ascii_text", "ident", "fortran_name", "comment", "wrap", "check_identifier",
           "MAX_ID", "WIDTH"]

MAX_ID = 63  # Fortran 2003+ identifiers
WIDTH = 100  # generated lines stay well inside free form's 132 characters
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def check_identifier(name: str, what: str) -> str:
    if not _ID.match(name or ""):
        raise ExportError(f"{what} {name!r} is not a Fortran identifier (a letter, then up to 62 "
                          "letters, digits or underscores)")
    return name


@dataclass(frozen=True)
class Kind:
    """The real kind of the generated code.

    Default: each module defines ``r8 = real64`` from ``iso_fortran_env``. With ``name`` and
    ``module`` (e.g. ``shr_kind_r8`` from ``shr_kind_mod``) every module uses the host model's
    kind instead, renamed to ``r8`` locally (``use shr_kind_mod, only: r8 => shr_kind_r8``), so
    the generated code and the host agree on one kind.
    """

    name: str | None = None
    module: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) != (self.module is None):
            raise ExportError(
                f"--kind and --kind-module go together (got kind={self.name!r}, "
                f"kind module={self.module!r}); e.g. --kind shr_kind_r8 --kind-module shr_kind_mod"
            )
        if self.name is not None:
            assert self.module is not None  # they go together (checked above)
            check_identifier(self.name, "kind")
            check_identifier(self.module, "kind module")

    @property
    def host(self) -> bool:
        return self.name is not None

    def use_lines(self, *, public: bool = False) -> list[str]:
        """The lines after ``module X`` that bring ``r8`` into scope (before implicit none)."""
        if self.name is not None:  # self.host
            ren = "r8" if self.name.lower() == "r8" else f"r8 => {self.name}"
            return [f"  use {self.module}, only: {ren}  ! the host model's real kind"]
        return ["  use iso_fortran_env, only: real64"]

    def decl_lines(self, *, public: bool = False) -> list[str]:
        """Declarations after ``implicit none`` / ``private`` (none with a host kind)."""
        if self.host:
            return ["  public :: r8"] if public else []
        vis = ", public" if public else ""
        return [f"  integer, parameter{vis} :: r8 = real64  ! = selected_real_kind(15, 307)"]

    def describe(self) -> str:
        if self.host:
            return f"real(r8), r8 = {self.name} from module {self.module} (the host model's kind)"
        return "real(r8), r8 = real64 from iso_fortran_env"


def ascii_text(s: str) -> str:
    """One line of ASCII (no newlines, nothing a compiler could misread)."""
    s = " ".join(str(s).split())
    return s.encode("ascii", "replace").decode("ascii")


def ident(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def fortran_name(base: str, used: set[str]) -> str:
    """A unique (case-insensitive) Fortran identifier for ``base``; long ones get a hash tail."""
    s = ident(base)
    if len(s) > MAX_ID:
        s = s[: MAX_ID - 9] + "_" + hashlib.sha256(base.encode()).hexdigest()[:8]
    if s.lower() in used:
        raise ExportError(f"Fortran name clash for {base!r} (names are case-insensitive)")
    used.add(s.lower())
    return s


def comment(text: str, indent: str = "", width: int = WIDTH) -> list[str]:
    """``text`` as ``!`` comment lines wrapped at ``width``; never truncated."""
    words = ascii_text(text).split(" ")
    out, line = [], indent + "!"
    for w in words:
        if len(line) + 1 + len(w) > width and line.strip() != "!":
            out.append(line)
            line = indent + "!  "
        line += " " + w
    out.append(line)
    return out


def wrap(stmt: str, indent: str, width: int = WIDTH) -> list[str]:
    """Split a long statement at spaces into lines joined by '&' continuations."""
    out, line = [], indent
    for word in stmt.split(" "):
        if len(line) + len(word) + 1 > width and line.strip():
            out.append(line.rstrip() + " &")
            line = indent + "    "
        line += word + " "
    out.append(line.rstrip())
    return out
