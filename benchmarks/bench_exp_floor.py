"""The arithmetic floor of the kernel on this CPU: how long n float64 exponentials per
cell-month take by themselves, with the kernel's own inline ``2^x`` (``ff_exp2su``/``ff_exp2u``)
compiled with the kernel's flags, one core.

An 8-mechanism form like benchmarks/bench_kernel.py's needs 5 top-level exponentials per
cell-month (4 sigmoids and the pooled exp). If 5 of them alone exceed the kernel target at a
given size, no float64 kernel of that form can meet it on this machine.

    python benchmarks/bench_exp_floor.py [--cells 15483 21500] [--months 192] [--repeats 9]
"""

from __future__ import annotations

import os

if hasattr(os, "sched_setaffinity"):  # one core
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import argparse  # noqa: E402
import ctypes  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fireform.forms.kernel.c_build import build_so as _build_so
from fireform.forms.kernel.c_prelude import C_PRELUDE as _C_PRELUDE  # noqa: E402

SRC = _C_PRELUDE + r"""
/* n_exp exponentials of distinct affine arguments per element, multiplied (a sigmoid-like load:
   each argument is one FMA of a float32 input, as in the kernel) */
void floor_short(const float *restrict x, float *restrict out, long n) {
  for (long i = 0; i < n; i++) {
    double v = (double) x[i];
    out[i] = (float) ((1.0 + ff_exp2su(0.9 * v - 0.1)) * (1.0 + ff_exp2su(0.7 * v + 0.2))
                      * (1.0 + ff_exp2su(-0.5 * v + 0.3)) * (1.0 + ff_exp2su(0.3 * v - 0.4))
                      * ff_exp2su(-0.2 * v + 0.1));
  }
}
void floor_copy(const float *restrict x, float *restrict out, long n) {
  for (long i = 0; i < n; i++) out[i] = (float) (1.0 + (double) x[i]);
}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, nargs="+", default=[15_483, 21_500])
    ap.add_argument("--months", type=int, default=192)
    ap.add_argument("--repeats", type=int, default=9)
    a = ap.parse_args()
    lib = ctypes.CDLL(str(_build_so(SRC)))
    fns = {}
    for name in ("floor_short", "floor_copy"):
        f = getattr(lib, name)
        f.restype = None
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
        fns[name] = f
    print(f"load average {os.getloadavg()[0]:.1f}; one core; CPU-time medians of {a.repeats}")
    for nc in a.cells:
        n = nc * a.months
        x = np.random.default_rng(0).uniform(-20, 20, n).astype(np.float32)
        out = np.empty(n, np.float32)
        res = {}
        for name, f in fns.items():
            ts = []
            for _ in range(a.repeats):
                t = time.process_time()
                f(x.ctypes.data, out.ctypes.data, n)
                ts.append(time.process_time() - t)
            res[name] = 1e3 * statistics.median(ts)
        print(f"{nc} cells x {a.months} months = {n / 1e6:.2f} M: 5 exponentials "
              f"{res['floor_short']:.1f} ms ({1e6 * res['floor_short'] / n:.2f} ns per element), "
              f"read+write alone {res['floor_copy']:.1f} ms")


if __name__ == "__main__":
    main()
