"""The safe expression language of new terms and mechanism equations.

Grammar (parsed by a hand-written tokenizer and Pratt parser into fireform's own AST; text is
never handed to Python's ``ast``, ``eval`` or ``compile``)::

    expr    := expr ("+" | "-") expr | expr ("*" | "/") expr | "-" expr | expr "^" expr
             | NUMBER | NAME | FUNC "(" expr ("," expr)* ")" | "(" expr ")"
    FUNC    := exp | log | sqrt | tanh | sigmoid | min | max | clip | abs

Precedence, loosest first: ``+ -`` < ``* /`` < unary ``-`` < ``^`` (right-associative), so
``-x^2 = -(x^2)`` and ``2^3^2 = 2^(3^2)``. ``sigmoid(x) = 1 / (1 + exp(-x))``; ``clip(x)`` clips
to [0, 1], ``clip(x, lo, hi)`` to [lo, hi]; ``min``/``max`` take two or more arguments.

Rules enforced by :func:`parse` (syntax) and :func:`validate` (meaning), each failing with an
:class:`~fireform.exceptions.ExpressionError` that names the position and the offending token:

- at most ``MAX_LENGTH`` (2000) characters and nesting depth ``MAX_DEPTH`` (64);
- numbers must be finite as float64 (``1e400`` is rejected);
- no attribute access, subscripts, strings, keywords, ``**``, lambdas or other calls;
- every name is a catalog input or a declared parameter with finite bounds ``lo < hi``;
- **exponent rule**: the exponent of ``^`` must not depend on inputs; a constant exponent needs
  ``|p| <= 10``; a parameter-dependent exponent must have interval bounds (from the parameters'
  bounds) inside ``[-10, 10]``. Growth beyond that belongs in ``exp``.
"""

from fireform.forms.expr.nodes import FUNCTIONS, BinOp, Call, Expr, Name, Neg, Num
from fireform.forms.expr.parser import MAX_DEPTH, MAX_LENGTH, parse
from fireform.forms.expr.printers import format_number, to_c, to_fortran, to_latex, to_numpy, to_text
from fireform.forms.expr.semantics import MAX_EXPONENT, evaluate, interval, names, validate

__all__ = [
    "Expr", "Num", "Name", "Neg", "BinOp", "Call", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH",
    "MAX_EXPONENT", "parse", "evaluate", "interval", "names", "to_text", "to_latex", "to_fortran",
    "to_numpy", "to_c", "validate", "format_number",
]
