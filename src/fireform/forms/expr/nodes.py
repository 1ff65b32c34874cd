"""The AST of the safe expression language: frozen, hashable, comparable nodes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Expr", "Num", "Name", "Neg", "BinOp", "Call", "FUNCTIONS"]

# name -> allowed argument counts (None = two or more)
FUNCTIONS: dict[str, tuple[int, ...] | None] = {
    "exp": (1,),
    "log": (1,),
    "sqrt": (1,),
    "tanh": (1,),
    "sigmoid": (1,),
    "abs": (1,),
    "clip": (1, 3),
    "min": None,
    "max": None,
}



class Expr:
    """Base class of expression nodes (all frozen dataclasses, hashable, comparable)."""

    __slots__ = ()


@dataclass(frozen=True)
class Num(Expr):
    value: float


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True)
class BinOp(Expr):
    op: str  # one of + - * / ^
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]

