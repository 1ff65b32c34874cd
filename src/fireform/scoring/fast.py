"""The fused per-cell pass of the fast scorer (numba, one core).

One kernel reads each cell's prediction row (twice; it stays in cache) and returns every
per-cell score, accumulated in float64 whatever the input dtype; everything that depends only
on the reference is precomputed in ``Benchmark.prepare``. Rows without missing values take
branch-free loops the compiler vectorises; rows with gaps take the general loops. The formulas
are those of ``components.py`` (the reference path); ``tests/scoring/test_fast.py`` holds the two
equal to 1e-9.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["cell_pass", "N_OUT"]

# Output columns: per-cell scores then the two period means the spatial scores need.
(BIAS, RMSE_CYCLE, RMSE_SERIES, SEASONAL, IAV, BIAS3, RMSE3, SEASONAL3, CBAR, CM3, N_OUT) = range(11)

# Reassociation lets the reductions vectorise; NaN semantics are kept (no 'nnan').
_FM = {"reassoc", "contract", "nsz", "arcp"}
_MID = np.array([15.5, 45.0, 74.5, 105.0, 135.5, 166.0, 196.5, 227.5, 258.0, 288.5, 319.0, 349.5])


@numba.njit(cache=True, inline="always")
def _score_exp(err, norm):
    """2.x ``Score``: exp(-|err/norm|), < 1e-16 -> 0, NaN where norm == 0."""
    if norm == 0.0 or norm != norm or err != err:
        return np.nan
    s = math.exp(-abs(err / norm))
    return 0.0 if s < 1e-16 else s


@numba.njit(cache=True, nogil=True, fastmath=_FM)
def _cell_pass(pred, obs, ref, dr, dt, dta, w3, w_rms, month, slot, kwin, begin, years,
               slot_days, n_t3, mid, row_clean):
    n, T = pred.shape
    out = np.full((n, N_OUT), np.nan)
    csum = np.empty(12)
    ccnt = np.empty(12)
    msum = np.empty(12)
    mcnt = np.empty(12)
    clim = np.empty(12)
    ext_t = np.empty(pred.shape[1])
    sdt = dt.sum()
    sdta = dta.sum()
    sw3 = w3.sum()
    swr = w_rms.sum()
    end = begin + 12 * years
    for i in range(n):
        rbar, r_ok, sigma, tr, sig_iav_r = ref[i, 0], ref[i, 1], ref[i, 2], ref[i, 3], ref[i, 4]
        rm3, norm3, rmw, crms3, ir3 = ref[i, 5], ref[i, 6], ref[i, 7], ref[i, 8], ref[i, 9]
        for k in range(12):
            csum[k] = 0.0
            ccnt[k] = 0.0
            msum[k] = 0.0
            mcnt[k] = 0.0
        clean = row_clean[i]
        if clean:
            s1 = 0.0
            a1 = 0.0
            q1 = 0.0
            for t in range(T):
                x = np.float64(pred[i, t])
                s1 += dt[t] * x
                a1 += dta[t] * x
                q1 += w3[t] * x
            s0, a0, q0 = sdt, sdta, sw3
            for k in range(12):
                acc = 0.0
                for y in range(years):
                    acc += np.float64(pred[i, begin + 12 * y + k])
                csum[k] = acc
            for k in range(12):
                ccnt[k] = years
            # ilamb3's calendar-month sums: the window's slots plus the partial years around it
            if years > 0:
                for k in range(12):
                    msum[month[begin + k]] += csum[k]
                    mcnt[month[begin + k]] += years
            for t in range(T):
                if t < begin or t >= end:
                    m = month[t]
                    msum[m] += np.float64(pred[i, t])
                    mcnt[m] += 1.0
        else:
            s0 = s1 = a0 = a1 = q0 = q1 = 0.0
            for t in range(T):
                x = np.float64(pred[i, t])
                if x != x:
                    continue
                s0 += dt[t]
                s1 += dt[t] * x
                a0 += dta[t]
                a1 += dta[t] * x
                q0 += w3[t]
                q1 += w3[t] * x
                m = month[t]
                msum[m] += x
                mcnt[m] += 1.0
                k = kwin[t]
                if k >= 0:
                    csum[k] += x
                    ccnt[k] += 1.0
        cbar = s1 / s0 if s0 > 0 else np.nan
        cm3 = a1 / a0 if a0 > 0 else np.nan
        cmw = q1 / q0 if q0 > 0 else np.nan
        out[i, CBAR] = cbar
        out[i, CM3] = cm3
        # climatology, its unweighted mean, its argmax; ilamb3's argmax month (NaN -> 0)
        cmean = 0.0
        cn = 0.0
        best = -1
        bestv = 0.0
        best3 = -1
        bestv3 = 0.0
        anym = False
        for k in range(12):
            if ccnt[k] > 0:
                clim[k] = csum[k] / ccnt[k]
                cmean += clim[k]
                cn += 1.0
                if best < 0 or clim[k] > bestv:
                    best = k
                    bestv = clim[k]
            else:
                clim[k] = np.nan
            v = msum[k] / mcnt[k] if mcnt[k] > 0 else 0.0
            if mcnt[k] > 0:
                anym = True
            if best3 < 0 or v > bestv3:
                best3 = k
                bestv3 = v
        # second pass: IAV residual and the two centred series RMSEs
        iv0 = iv1 = e0 = e1 = f0 = f1 = 0.0
        if clean:
            for t in range(T):
                x = np.float64(pred[i, t])
                r = np.float64(obs[i, t])
                e = (x - cbar) - (r - rbar)
                e1 += dt[t] * e * e
                g = (x - cmw) - (r - rmw)
                f1 += w3[t] * g * g
            e0, f0 = sdt, sw3
            if years > 0:
                for t in range(T):
                    ext = clim[slot[t]]
                    ext_t[t] = ext if ext == ext else 0.0
                for t in range(T):
                    d = np.float64(pred[i, t]) - ext_t[t]
                    iv1 += w_rms[t] * d * d
                iv0 = swr
        else:
            for t in range(T):
                x = np.float64(pred[i, t])
                if x != x:
                    continue
                if years > 0:
                    ext = clim[slot[t]]
                    d = x - ext if ext == ext else x
                    iv0 += w_rms[t]
                    iv1 += w_rms[t] * d * d
                r = np.float64(obs[i, t])
                if r == r:
                    e = (x - cbar) - (r - rbar)
                    e0 += dt[t]
                    e1 += dt[t] * e * e
                    g = (x - cmw) - (r - rmw)
                    f0 += w3[t]
                    f1 += w3[t] * g * g
        # -- ILAMB 2.x cell scores (cells where both period means are defined) -------------
        if r_ok > 0 and cbar == cbar:
            b = cbar - rbar
            if sigma == 0.0:
                s = math.exp(-abs(b))
                out[i, BIAS] = 0.0 if s < 1e-16 else s
            else:
                out[i, BIAS] = _score_exp(b, sigma)
            out[i, RMSE_SERIES] = _score_exp(math.sqrt(e1 / e0) if e0 > 0 else np.nan, sigma)
            if years > 0:
                cm = cmean / cn if cn > 0 else np.nan
                num = 0.0
                den = 0.0
                for k in range(12):
                    ee = (clim[k] - cm) - dr[i, k]
                    if ee == ee:
                        num += slot_days[k] * ee * ee
                        den += slot_days[k]
                out[i, RMSE_CYCLE] = _score_exp(math.sqrt(num / den) if den > 0 else np.nan, sigma)
                if best >= 0 and tr == tr:
                    sh = mid[best] - tr
                    if sh < -182.5:
                        sh += 365.0
                    if sh > 182.5:
                        sh -= 365.0
                    out[i, SEASONAL] = (1.0 + math.cos(abs(sh) / 365.0 * 2.0 * math.pi)) * 0.5
                sig_c = math.sqrt(iv1 / iv0) if iv0 > 0 else np.nan
                out[i, IAV] = _score_exp(sig_c - sig_iav_r, sig_iav_r)
        # -- ilamb3 cell scores ------------------------------------------------------------
        if cm3 == cm3 and rm3 == rm3:
            bb = abs(cm3 - rm3)
            if norm3 == 0.0:
                out[i, BIAS3] = np.nan if bb == 0.0 else 0.0
            else:
                out[i, BIAS3] = math.exp(-bb / norm3)
        if n_t3 >= 24 and f0 > 0 and crms3 == crms3:
            c3 = math.sqrt(f1 / f0)
            if crms3 == 0.0:
                out[i, RMSE3] = np.nan if c3 == 0.0 else 0.0
            else:
                out[i, RMSE3] = math.exp(-c3 / crms3)
        if n_t3 >= 12 and anym and ir3 == ir3:
            sh3 = best3 - ir3
            if sh3 > 6:
                sh3 -= 12
            if sh3 < -6:
                sh3 += 12
            out[i, SEASONAL3] = 1.0 - abs(sh3) / 6.0
    return out


def cell_pass(pred: np.ndarray, obs: np.ndarray, *, ref: np.ndarray, dr: np.ndarray, axis,
              window_slots: np.ndarray, row_clean: np.ndarray) -> np.ndarray:
    """Per-cell scores and period means, (n_cells, N_OUT)."""
    return _cell_pass(
        pred, obs, ref, dr, axis.dt, axis.dt_actual, axis.w_ilamb3_rmse, axis.w_rms,
        axis.month.astype(np.int64), axis.slot, window_slots, axis.cycle_begin, axis.cycle_years,
        axis.slot_days, axis.n, _MID, row_clean,
    )


def window_slots(axis) -> np.ndarray:
    """Climatology slot of each step inside the whole-year window, -1 outside."""
    k = np.full(axis.n, -1, dtype=np.int64)
    w = axis.window
    k[w] = np.arange(w.stop - w.start) % 12
    return k
