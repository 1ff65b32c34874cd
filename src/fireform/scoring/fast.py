"""The fused kernel of the fast scorer (numba, one core): per-cell scores straight into region sums.

One call reads each cell's prediction row from memory once (later passes find it in L1) and its
reference row once, accumulates in float64 whatever the input dtype, scores the cell and adds its
contributions to the sums of its region group (cells belonging to the same set of regions, built
in ``Benchmark.prepare``); one (regions x groups) @ (groups x sums) product then gives the region
sums. Nothing of size cells x months or cells x components is allocated. Everything that depends
only on the reference is precomputed (``ref`` columns, ``dr``, month/slot index tables, the 2.x
seasonal score table). Measured costs that shaped the code: numba increfs/decrefs each array
passed to a helper or sliced as a view, per row, so the kernel is one function over 2-D indices;
negative-index wraparound code on computed indices blocked vectorisation (unsigned indices).

Rows are clean when the reference row is complete (known at prepare) and the prediction row's
weighted sums are finite (found by the first pass itself, so no separate NaN scan): those take
branch-free loops over contiguous months that LLVM vectorises (reassociation allowed, NaN
semantics kept). Other rows take the general loops, which skip missing steps one by one. The
formulas are those of ``components.py`` (the reference path); ``tests/scoring/test_fast.py``
holds the two equal to 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

__all__ = ["score_regions", "region_groups", "RegionGroups", "seasonal_table", "month_tables", "N_ACC", "REF_COLS"]

# Columns of the per-cell reference table built in ``prepare``.
# w2d: the 2.x weight of Bias and Seasonal, whose score maps carry ``area_diff`` (prepared.py).
REF_COLS = ("rbar", "r_ok", "sigma", "ir", "sig_iav_r", "rm3", "norm3", "rmw", "crms3", "ir3",
            "w2", "w3b", "area", "obs_complete", "w2d")
(R_RBAR, R_OK, R_SIGMA, R_IR, R_SIGIAV, R_RM3, R_NORM3, R_RMW, R_CRMS3, R_IR3,
 R_W2, R_W3B, R_AREA, R_COMPLETE, R_W2D) = range(len(REF_COLS))

# Region sums: (numerator, denominator) pairs of the weighted means, then the spatial moments.
(A_BIAS, A_RMSE_CYCLE, A_RMSE_SERIES, A_SEASONAL, A_IAV) = (0, 2, 4, 6, 8)  # 2.x, w2 (B, S: w2d)
A_BIAS3, A_RMSE3, A_SEASONAL3 = 10, 12, 14  # ilamb3: weight w3b, area, area
A_SP = 16  # 2.x spatial over valid cells: n, sum x, sum y, sum xx, sum yy, sum xy (x=rbar, y=cbar)
A_SY3 = 22  # ilamb3: over cells with cm3: n, sum y, sum yy
A_SB3 = 25  # ilamb3: over cells with both: n, sum x, sum y, sum xx, sum yy, sum xy (x=rm3, y=cm3)
N_ACC = 31

# Reassociation lets the reductions vectorise; NaN/inf semantics are kept (no 'nnan'/'ninf').
_FM = {"reassoc", "contract", "nsz", "arcp"}
_JIT: dict[str, Any] = dict(cache=True, nogil=True, fastmath=_FM, boundscheck=False, error_model="numpy")
# Unsigned indices: numba emits no negative-index wraparound for them, which otherwise blocks
# the compiler from keeping the 12 slot sums in registers.
_U = np.uint64
(_U1, _U2, _U3, _U4, _U5, _U6, _U7, _U8, _U9, _U10, _U11) = (np.uint64(k) for k in range(1, 12))
_MID = np.array([15.5, 45.0, 74.5, 105.0, 135.5, 166.0, 196.5, 227.5, 258.0, 288.5, 319.0, 349.5])


@numba.njit(cache=True, inline="always", error_model="numpy")
def _score_exp(err, norm):
    """2.x ``Score``: exp(-|err/norm|), < 1e-16 -> 0, NaN where norm == 0."""
    if norm == 0.0 or norm != norm or err != err:
        return np.nan
    s = math.exp(-abs(err / norm))
    return 0.0 if s < 1e-16 else s


@numba.njit(cache=True, inline="always", error_model="numpy")
def _add_weighted(acc, g, slot, w, v):
    """acc[g, slot] += w v and acc[g, slot + 1] += w for a finite score v (NaN: skipped)."""
    if v == v:
        acc[g, slot] += w * v
        acc[g, slot + 1] += w


@numba.njit(cache=True, error_model="numpy")
def _finite(v):
    """Compiled without fast-math flags: LLVM may not assume the comparison away."""
    return v == v and abs(v) != math.inf


@numba.njit(**_JIT)
def _score_regions(pred, obs, ref, dr, dt, dta, w3, w_rms, month, slot, kwin, begin, years,
                   wmonth, tails, mcnt_clean, periodic, slot_days, n_t3, seas_tab, group,
                   n_groups, do3):
    # One function on purpose: numba increfs/decrefs every array passed to (or viewed for) a
    # helper, two atomic operations per array per row, which cost more than the arithmetic.
    # Helpers here take scalars only; rows are read as pred[i, t] with t a loop counter.
    n, T = pred.shape
    acc = np.zeros((n_groups, N_ACC))
    csum = np.empty(12)
    ccnt = np.empty(12)
    msum = np.empty(12)
    mcnt = np.empty(12)
    clim = np.empty(12)
    ext = np.empty(T)
    # weight sums of a complete row: dt, dt_actual, ilamb3 rmse, rms
    sdt, sdta, sw3, swr = dt.sum(), dta.sum(), w3.sum(), w_rms.sum()
    slot12 = np.zeros(12, np.int64)
    if T >= 12:
        slot12[:] = slot[:12]
    nb = T // 12
    for i in range(n):
        rbar, r_ok, sigma, ir = ref[i, R_RBAR], ref[i, R_OK], ref[i, R_SIGMA], ref[i, R_IR]
        sig_iav_r, rm3, norm3, rmw = ref[i, R_SIGIAV], ref[i, R_RM3], ref[i, R_NORM3], ref[i, R_RMW]
        crms3, ir3 = ref[i, R_CRMS3], ref[i, R_IR3]
        # -- clean rows: reference complete (known), prediction finite (found by pass 1) ---
        # Flat loops over months are branch-free reductions LLVM vectorises. The climatology
        # keeps one scalar per slot (12 independent chains, not a scatter through memory) and
        # the climatology at every step (``ext``) is written from those registers, which needs
        # the step -> slot map to repeat every 12 steps (``periodic``, from ``month_tables``).
        clean = False
        s1 = a1 = q1 = 0.0
        if periodic and ref[i, R_COMPLETE] > 0:
            if do3:
                for t in range(T):
                    xv = np.float64(pred[i, t])
                    s1 += dt[t] * xv
                    a1 += dta[t] * xv
                    q1 += w3[t] * xv
                clean = _finite(s1 + a1 + q1)
            else:  # ILAMB 2.x only (a fit's objective): the same s1, and a finite s1 is a finite row
                for t in range(T):
                    s1 += dt[t] * np.float64(pred[i, t])
                clean = _finite(s1)
        if clean:
            s0, a0, q0 = sdt, sdta, sw3
            cbar = s1 / s0
            cmw = q1 / q0
            for k in range(12):
                msum[k] = 0.0
                ccnt[k] = years
                mcnt[k] = mcnt_clean[k]
            if years > 0:
                c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = 0.0
                for y in range(years):
                    b = _U(begin + 12 * y)
                    c0 += pred[i, b]
                    c1 += pred[i, b + _U1]
                    c2 += pred[i, b + _U2]
                    c3 += pred[i, b + _U3]
                    c4 += pred[i, b + _U4]
                    c5 += pred[i, b + _U5]
                    c6 += pred[i, b + _U6]
                    c7 += pred[i, b + _U7]
                    c8 += pred[i, b + _U8]
                    c9 += pred[i, b + _U9]
                    c10 += pred[i, b + _U10]
                    c11 += pred[i, b + _U11]
                clim[0] = c0 / years
                clim[1] = c1 / years
                clim[2] = c2 / years
                clim[3] = c3 / years
                clim[4] = c4 / years
                clim[5] = c5 / years
                clim[6] = c6 / years
                clim[7] = c7 / years
                clim[8] = c8 / years
                clim[9] = c9 / years
                clim[10] = c10 / years
                clim[11] = c11 / years
                # ilamb3's calendar-month sums: the window's slots plus the steps outside it
                msum[wmonth[0]] += c0
                msum[wmonth[1]] += c1
                msum[wmonth[2]] += c2
                msum[wmonth[3]] += c3
                msum[wmonth[4]] += c4
                msum[wmonth[5]] += c5
                msum[wmonth[6]] += c6
                msum[wmonth[7]] += c7
                msum[wmonth[8]] += c8
                msum[wmonth[9]] += c9
                msum[wmonth[10]] += c10
                msum[wmonth[11]] += c11
                # 2.x ExtendAnnualCycle: the climatology at each step's slot
                g0, g1, g2, g3 = clim[slot12[0]], clim[slot12[1]], clim[slot12[2]], clim[slot12[3]]
                g4, g5, g6, g7 = clim[slot12[4]], clim[slot12[5]], clim[slot12[6]], clim[slot12[7]]
                g8, g9, g10, g11 = clim[slot12[8]], clim[slot12[9]], clim[slot12[10]], clim[slot12[11]]
                for q in range(nb):
                    b = _U(12 * q)
                    ext[b] = g0
                    ext[b + _U1] = g1
                    ext[b + _U2] = g2
                    ext[b + _U3] = g3
                    ext[b + _U4] = g4
                    ext[b + _U5] = g5
                    ext[b + _U6] = g6
                    ext[b + _U7] = g7
                    ext[b + _U8] = g8
                    ext[b + _U9] = g9
                    ext[b + _U10] = g10
                    ext[b + _U11] = g11
                for t in range(12 * nb, T):
                    ext[t] = clim[slot12[t - 12 * nb]]
                iv0 = swr
            else:
                for k in range(12):
                    clim[k] = np.nan
                for t in range(T):
                    ext[t] = 0.0
                iv0 = 0.0
            for j in range(tails.shape[0]):
                t = tails[j]
                msum[month[t]] += pred[i, t]
            # centred series (2.x and ilamb3 weights) and the IAV residual, one pass
            # (x - cbar) - (r - rbar) regrouped as (x - r) - (cbar - rbar): fewer operations
            dl = cbar - rbar
            dl3 = cmw - rmw
            e1 = f1 = iv1 = 0.0
            if do3:
                for t in range(T):
                    xv = np.float64(pred[i, t])
                    dxr = xv - np.float64(obs[i, t])
                    e = dxr - dl
                    e1 += dt[t] * e * e
                    g = dxr - dl3
                    f1 += w3[t] * g * g
                    d = xv - ext[t]
                    iv1 += w_rms[t] * d * d
            else:
                for t in range(T):
                    xv = np.float64(pred[i, t])
                    dxr = xv - np.float64(obs[i, t])
                    e = dxr - dl
                    e1 += dt[t] * e * e
                    d = xv - ext[t]
                    iv1 += w_rms[t] * d * d
            e0, f0 = s0, q0
        else:
            # -- rows with gaps: every missing step is skipped ------------------------------
            for k in range(12):
                csum[k] = 0.0
                ccnt[k] = 0.0
                msum[k] = 0.0
                mcnt[k] = 0.0
            s0 = s1 = a0 = a1 = q0 = q1 = 0.0
            for t in range(T):
                xv = np.float64(pred[i, t])
                if xv != xv:
                    continue
                s0 += dt[t]
                s1 += dt[t] * xv
                a0 += dta[t]
                a1 += dta[t] * xv
                q0 += w3[t]
                q1 += w3[t] * xv
                m = month[t]
                msum[m] += xv
                mcnt[m] += 1.0
                k = kwin[t]
                if k >= 0:
                    csum[k] += xv
                    ccnt[k] += 1.0
            cbar = s1 / s0 if s0 > 0 else np.nan
            cmw = q1 / q0 if q0 > 0 else np.nan
            for k in range(12):
                clim[k] = csum[k] / ccnt[k] if ccnt[k] > 0 else np.nan
            iv0 = iv1 = e0 = e1 = f0 = f1 = 0.0
            for t in range(T):
                xv = np.float64(pred[i, t])
                if xv != xv:
                    continue
                if years > 0:
                    ex = clim[slot[t]]
                    d = xv - ex if ex == ex else xv
                    iv0 += w_rms[t]
                    iv1 += w_rms[t] * d * d
                rv = np.float64(obs[i, t])
                if rv == rv:
                    e = (xv - cbar) - (rv - rbar)
                    e0 += dt[t]
                    e1 += dt[t] * e * e
                    g = (xv - cmw) - (rv - rmw)
                    f0 += w3[t]
                    f1 += w3[t] * g * g
        cbar = s1 / s0 if s0 > 0 else np.nan
        cm3 = a1 / a0 if a0 > 0 else np.nan
        # climatology's unweighted mean and argmax; ilamb3's argmax month (NaN -> 0)
        cmean = 0.0
        cn = 0.0
        best = -1
        bestv = 0.0
        best3 = -1
        bestv3 = 0.0
        anym = False
        for k in range(12):
            if ccnt[k] > 0:
                cmean += clim[k]
                cn += 1.0
                if best < 0 or clim[k] > bestv:
                    best = k
                    bestv = clim[k]
            vk = msum[k] / mcnt[k] if mcnt[k] > 0 else 0.0
            if mcnt[k] > 0:
                anym = True
            if best3 < 0 or vk > bestv3:
                best3 = k
                bestv3 = vk
        # -- ILAMB 2.x cell scores (cells where both period means are defined) -------------
        s_b = s_rc = s_rs = s_se = s_iv = np.nan
        valid = r_ok > 0 and cbar == cbar
        if valid:
            b = cbar - rbar
            if sigma == 0.0:
                s = math.exp(-abs(b))
                s_b = 0.0 if s < 1e-16 else s
            else:
                s_b = _score_exp(b, sigma)
            s_rs = _score_exp(math.sqrt(e1 / e0) if e0 > 0 else np.nan, sigma)
            if years > 0:
                cm = cmean / cn if cn > 0 else np.nan
                num = 0.0
                den = 0.0
                for k in range(12):
                    ee = (clim[k] - cm) - dr[i, k]
                    if ee == ee:
                        num += slot_days[k] * ee * ee
                        den += slot_days[k]
                s_rc = _score_exp(math.sqrt(num / den) if den > 0 else np.nan, sigma)
                if best >= 0 and ir >= 0:
                    s_se = seas_tab[best, int(ir)]
                sig_c = math.sqrt(iv1 / iv0) if iv0 > 0 else np.nan
                s_iv = _score_exp(sig_c - sig_iav_r, sig_iav_r)
        # -- this cell's contributions to the sums of its group (cells in the same regions) -
        w2, w3b, area, w2d = ref[i, R_W2], ref[i, R_W3B], ref[i, R_AREA], ref[i, R_W2D]
        g = group[i]
        if valid:
            _add_weighted(acc, g, A_BIAS, w2d, s_b)
            _add_weighted(acc, g, A_RMSE_CYCLE, w2, s_rc)
            _add_weighted(acc, g, A_RMSE_SERIES, w2, s_rs)
            _add_weighted(acc, g, A_SEASONAL, w2d, s_se)
            _add_weighted(acc, g, A_IAV, w2, s_iv)
            acc[g, A_SP] += 1.0
            acc[g, A_SP + 1] += rbar
            acc[g, A_SP + 2] += cbar
            acc[g, A_SP + 3] += rbar * rbar
            acc[g, A_SP + 4] += cbar * cbar
            acc[g, A_SP + 5] += rbar * cbar
        if not do3:  # a 2.x-only pass: ilamb3's cell scores are neither computed nor added
            continue
        # -- ilamb3 cell scores ------------------------------------------------------------
        s_b3 = s_r3 = s_s3 = np.nan
        if cm3 == cm3 and rm3 == rm3:
            bb = abs(cm3 - rm3)
            if norm3 == 0.0:
                s_b3 = np.nan if bb == 0.0 else 0.0
            else:
                s_b3 = math.exp(-bb / norm3)
        if n_t3 >= 24 and f0 > 0 and crms3 == crms3:
            c3 = math.sqrt(f1 / f0)
            if crms3 == 0.0:
                s_r3 = np.nan if c3 == 0.0 else 0.0
            else:
                s_r3 = math.exp(-c3 / crms3)
        if n_t3 >= 12 and anym and ir3 == ir3:
            sh3 = best3 - ir3
            if sh3 > 6:
                sh3 -= 12
            if sh3 < -6:
                sh3 += 12
            s_s3 = 1.0 - abs(sh3) / 6.0
        _add_weighted(acc, g, A_BIAS3, w3b, s_b3)
        _add_weighted(acc, g, A_RMSE3, area, s_r3)
        _add_weighted(acc, g, A_SEASONAL3, area, s_s3)
        if cm3 == cm3:
            acc[g, A_SY3] += 1.0
            acc[g, A_SY3 + 1] += cm3
            acc[g, A_SY3 + 2] += cm3 * cm3
            if rm3 == rm3:
                acc[g, A_SB3] += 1.0
                acc[g, A_SB3 + 1] += rm3
                acc[g, A_SB3 + 2] += cm3
                acc[g, A_SB3 + 3] += rm3 * rm3
                acc[g, A_SB3 + 4] += cm3 * cm3
                acc[g, A_SB3 + 5] += rm3 * cm3
    return acc


def score_regions(pred: np.ndarray, obs: np.ndarray, *, ref: np.ndarray, dr: np.ndarray, axis,
                  tables: dict, seas_tab: np.ndarray, groups: "RegionGroups", ilamb3: bool = True) -> np.ndarray:
    """Region sums (n_regions, N_ACC) of every per-cell score and spatial moment; with
    ``ilamb3=False`` the ilamb3 sums stay 0 and the 2.x sums are the same bit for bit (a fit
    whose objective reads 2.x only: ~1/6 less time)."""
    acc = _score_regions(
        pred, obs, ref, dr, axis.dt, axis.dt_actual, axis.w_ilamb3_rmse, axis.w_rms,
        tables["month"], tables["slot"], tables["kwin"], axis.cycle_begin, axis.cycle_years,
        tables["wmonth"], tables["tails"], tables["mcnt_clean"], tables["periodic"],
        axis.slot_days, axis.n, seas_tab, groups.group, groups.members.shape[1], bool(ilamb3),
    )
    return groups.members @ acc


def month_tables(axis) -> dict:
    """Index tables of the time axis: window slot (-1 outside), calendar month of each window
    slot, steps outside the window, and the calendar-month counts of a complete row."""
    n = axis.n
    kwin = np.full(n, -1, dtype=np.int64)
    w = axis.window
    kwin[w] = np.arange(w.stop - w.start) % 12
    month = np.ascontiguousarray(axis.month, dtype=np.int64)
    tails = np.flatnonzero(kwin < 0).astype(np.int64)
    wmonth = month[axis.cycle_begin:axis.cycle_begin + 12] if axis.cycle_years > 0 else np.zeros(12, np.int64)
    return dict(
        kwin=kwin, month=month, tails=tails, wmonth=np.ascontiguousarray(wmonth, dtype=np.int64),
        mcnt_clean=np.bincount(month, minlength=12).astype(float),
        # the clean loops take step t's slot from slot[t % 12]; otherwise every row goes general
        periodic=bool(n >= 12 and np.array_equal(axis.slot, axis.slot[np.arange(n) % 12])),
        # slot is -1 without a whole year; it is only read when there is one
        slot=np.ascontiguousarray(np.maximum(axis.slot, 0), dtype=np.int64),
    )


@dataclass(frozen=True, eq=False)
class RegionGroups:
    """Cells grouped by the set of regions they belong to (global + one box: ~15 groups).

    The kernel adds each cell to its group's sums once; ``members`` (n_regions, n_groups, 0/1)
    turns group sums into region sums.
    """

    group: np.ndarray  # (n_cells,) int64
    members: np.ndarray  # (n_regions, n_groups) float


def region_groups(region_matrix: np.ndarray) -> RegionGroups:
    rm = np.asarray(region_matrix, dtype=bool)
    if rm.shape[1] == 0:
        return RegionGroups(np.zeros(0, np.int64), np.zeros((rm.shape[0], 0)))
    combos, inverse = np.unique(rm.T, axis=0, return_inverse=True)
    return RegionGroups(np.ascontiguousarray(inverse.reshape(-1), dtype=np.int64),
                        np.ascontiguousarray(combos.T, dtype=float))


def seasonal_table() -> np.ndarray:
    """2.x seasonal score for (model argmax slot, reference argmax slot): phase of mid-months."""
    sh = _MID[:, None] - _MID[None, :]
    sh = sh + (sh < -0.5 * 365.0) * 365.0
    sh = sh - (sh > 0.5 * 365.0) * 365.0
    return np.ascontiguousarray((1.0 + np.cos(np.abs(sh) / 365.0 * 2.0 * np.pi)) * 0.5)
