"""Exact Shapley / interaction indices against closed forms, and the sampled estimator's interval."""

from itertools import combinations

import numpy as np
import pytest

from fireform.ablation import MemoGame, estimate, interaction_indices, shapley_values
from fireform.ablation.exact import masks_of


def _dividend_game(n, dividends):
    """v(S) = sum_T d_T [T inside S]; closed form phi_i = sum_{T ni i} d_T/|T|,
    I_ij = sum_{T contains i,j} d_T/(|T|-1)."""
    v = np.zeros(2**n)
    for m in masks_of(n):
        v[m] = sum(d for T, d in dividends.items() if (int(m) & T) == T)
    phi = np.zeros(n)
    inter = np.zeros((n, n))
    for T, d in dividends.items():
        mem = [i for i in range(n) if (T >> i) & 1]
        for i in mem:
            phi[i] += d / len(mem)
        for i, j in combinations(mem, 2):
            inter[i, j] += d / (len(mem) - 1)
            inter[j, i] += d / (len(mem) - 1)
    return v, phi, inter


def test_additive_game():
    a = np.array([0.3, -0.1, 0.25, 0.0, 0.7])
    n = a.size
    v = np.array([0.2 + sum(a[i] for i in range(n) if (m >> i) & 1) for m in range(2**n)])
    phi = shapley_values(v, n)
    assert np.max(np.abs(phi - a)) < 1e-12
    assert np.max(np.abs(interaction_indices(v, n))) < 1e-12


def test_unanimity_and_glove_games():
    n = 6
    T = 0b101100  # players 2, 3, 5
    v = np.array([1.0 if (m & T) == T else 0.0 for m in range(2**n)])
    phi = shapley_values(v, n)
    assert np.allclose(phi, [0, 0, 1 / 3, 1 / 3, 0, 1 / 3], atol=1e-12, rtol=0)
    inter = interaction_indices(v, n)
    assert abs(inter[2, 3] - 0.5) < 1e-12 and abs(inter[3, 5] - 0.5) < 1e-12 and abs(inter[0, 2]) < 1e-12
    # glove game: players 0, 1 hold left gloves, 2 the right one; v = pairs formed
    g = np.array([min(((m >> 0) & 1) + ((m >> 1) & 1), (m >> 2) & 1) for m in range(8)], float)
    assert np.max(np.abs(shapley_values(g, 3) - [1 / 6, 1 / 6, 2 / 3])) < 1e-12


def test_random_dividend_game_efficiency_and_matrix_columns():
    rng = np.random.default_rng(3)
    n = 8
    divs = {int(T): float(rng.normal()) for T in rng.choice(np.arange(1, 2**n), 40, replace=False)}
    v, phi_true, inter_true = _dividend_game(n, divs)
    V = np.stack([v, 2 * v + 1], axis=1)  # several games at once (per region/component)
    phi = shapley_values(V, n)
    assert np.max(np.abs(phi[:, 0] - phi_true)) < 1e-12
    assert np.max(np.abs(phi[:, 1] - 2 * phi_true)) < 1e-12
    assert abs(phi[:, 0].sum() - (v[-1] - v[0])) < 1e-12  # values sum to the total gain
    shares = phi[:, 0] / (v[-1] - v[0])
    assert abs(shares.sum() - 1) < 1e-12
    assert np.max(np.abs(interaction_indices(v, n) - inter_true)) < 1e-12


@pytest.mark.parametrize("method", ["permutation", "kernelshap", "svarm"])
def test_sampled_interval_covers_exact_values(method):
    """8 players, a cheap non-additive game: every player's exact value in its interval."""
    rng = np.random.default_rng(7)
    n = 8
    divs = {1 << i: float(rng.uniform(0.02, 0.3)) for i in range(n)}
    divs.update({(1 << 0) | (1 << 1): 0.15, (1 << 2) | (1 << 5): -0.08, 0b10011000: 0.1})
    v, phi_true, _ = _dividend_game(n, divs)
    calls = []

    def evaluate(masks):
        calls.append(len(masks))
        return {m: v[m] for m in masks}

    game = MemoGame(n, evaluate)
    est = estimate(game, method=method, budget=120, replicates=8, level=0.99, seed=0,
                   interactions=False)
    assert np.all(est.lo <= phi_true) and np.all(phi_true <= est.hi), (est.lo, phi_true, est.hi)
    assert np.all(est.hi - est.lo < 0.5)  # an interval, not the whole line
    assert est.n_coalitions == sum(calls) <= 2**n  # memoised: each coalition evaluated once
