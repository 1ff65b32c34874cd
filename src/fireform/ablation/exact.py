"""Exact Shapley values and pairwise Shapley interaction indices from all 2^n coalition values.

Coalitions are bitmasks: bit i set <=> player i is in the coalition; ``v`` is indexed by mask
(``v[0]`` the empty coalition, ``v[2**n - 1]`` the grand coalition). ``v`` may carry trailing
dimensions (one game per column: every region x score component at once), because both indices
are linear in v.

Shapley value (Shapley 1953):

    phi_i = sum_{S subset N \\ {i}}  |S|! (n - |S| - 1)! / n!  [v(S u {i}) - v(S)]

Efficiency: sum_i phi_i = v(N) - v(empty); the *share* of i is phi_i / (v(N) - v(empty)).

Pairwise Shapley interaction index (Grabisch & Roubens 1999, Int. J. Game Theory 28:547):

    I_ij = sum_{S subset N \\ {i, j}}  |S|! (n - |S| - 2)! / (n - 1)!
           [v(S u {i, j}) - v(S u {i}) - v(S u {j}) + v(S)]

Closed forms used by the tests: for the unanimity game u_T (1 if T is inside S, else 0),
phi_i = 1/|T| for i in T (0 otherwise) and I_ij = 1/(|T| - 1) for {i, j} inside T (0 otherwise);
both indices are linear, so a game given by Harsanyi dividends d_T has phi_i = sum_{T ni i} d_T/|T|
and I_ij = sum_{T contains i, j} d_T / (|T| - 1).
"""

from __future__ import annotations

from math import factorial

import numpy as np

__all__ = ["popcount", "masks_of", "shapley_values", "interaction_indices", "mask_of", "members"]

MAX_EXACT = 20  # 2^20 coalition values is the most this module will hold in memory


def popcount(masks: np.ndarray | int) -> np.ndarray:
    """Number of set bits of each mask."""
    m = np.asarray(masks, dtype=np.int64)
    out = np.zeros(m.shape, dtype=np.int64)
    while np.any(m):
        out += m & 1
        m = m >> 1
    return out


def masks_of(n: int) -> np.ndarray:
    if not 0 <= n <= MAX_EXACT:
        raise ValueError(f"exact Shapley needs 0 <= n <= {MAX_EXACT} players, got {n}")
    return np.arange(2**n, dtype=np.int64)


def mask_of(coalition, players) -> int:
    """Bitmask of ``coalition`` (an iterable of player names) in the order of ``players``."""
    idx = {p: i for i, p in enumerate(players)}
    m = 0
    for p in coalition:
        m |= 1 << idx[p]
    return m


def members(mask: int, players) -> tuple:
    """The players of ``mask``, in the order of ``players``."""
    return tuple(p for i, p in enumerate(players) if (int(mask) >> i) & 1)


def _values(v, n: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape[0] != 2**n:
        raise ValueError(f"expected 2^{n} = {2**n} coalition values, got {v.shape[0]}")
    return v


def shapley_values(v, n: int) -> np.ndarray:
    """phi, shape (n, *v.shape[1:])."""
    v = _values(v, n)
    masks = masks_of(n)
    size = popcount(masks)
    w = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)] or [0.0])
    out = np.zeros((n, *v.shape[1:]))
    for i in range(n):
        s = masks[((masks >> i) & 1) == 0]
        wi = w[size[s]].reshape((-1,) + (1,) * (v.ndim - 1))
        out[i] = np.sum(wi * (v[s | (1 << i)] - v[s]), axis=0)
    return out


def interaction_indices(v, n: int) -> np.ndarray:
    """I, shape (n, n, *v.shape[1:]), symmetric, zero on the diagonal."""
    v = _values(v, n)
    masks = masks_of(n)
    size = popcount(masks)
    out = np.zeros((n, n, *v.shape[1:]))
    if n < 2:
        return out
    w = np.array([factorial(s) * factorial(n - s - 2) / factorial(n - 1) for s in range(n - 1)])
    for i in range(n):
        for j in range(i + 1, n):
            s = masks[(((masks >> i) & 1) == 0) & (((masks >> j) & 1) == 0)]
            wi = w[size[s]].reshape((-1,) + (1,) * (v.ndim - 1))
            d = v[s | (1 << i) | (1 << j)] - v[s | (1 << i)] - v[s | (1 << j)] + v[s]
            out[i, j] = out[j, i] = np.sum(wi * d, axis=0)
    return out
