"""Array helpers shared by mechanism functions.

Each helper is written with ``xp`` calls only and states exactly the expression-language
function it mirrors, so a mechanism's function and its ``equation`` compute the same thing
operation for operation (the contract suite compares them within 1e-6 relative).
"""

from __future__ import annotations

PI = 3.141592653589793  # written as this literal in equations: the language has no constants


def sigmoid(x, xp):
    """``sigmoid(x) = 1 / (1 + exp(-x))``; overflow of exp(-x) gives 1/inf = 0, never NaN."""
    return 1.0 / (1.0 + xp.exp(-x))


def clip01(x, xp):
    """``clip(x)``: min(max(x, 0), 1), spelled as the expression evaluator spells it."""
    return xp.minimum(xp.maximum(x, 0.0), 1.0)


def log_gaussian(x, x_opt, sigma, floor, xp):
    """``exp(-log(max(x, floor) / x_opt)^2 / (2 * sigma^2))``: a hump with its peak (1) at x_opt.

    ``floor`` keeps the logarithm finite at x <= 0 (the factor is flat and near 0 there).
    """
    z = xp.log(xp.maximum(x, floor) / x_opt)
    return xp.exp(-xp.power(z, 2.0) / (2.0 * xp.power(sigma, 2.0)))
