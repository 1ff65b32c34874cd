"""The C prelude of the fused kernel: inline, branch-free exp, log and tanh that gcc vectorises."""

from __future__ import annotations

__all__ = ["C_PRELUDE", "LOG2E"]

# ff_exp2u: 2^x = 2^n 2^f, n = rint(x), |f| <= 1/2, 2^f = 1 + f q(f) with q a near-minimax
# (Chebyshev) degree-5 polynomial: relative error < 5.2e-9 in 2^f (10x below float32 output
# rounding) and < 1.3e-8 in 2^f - 1, so 1 - exp(-x) keeps its accuracy for small x (the exact
# leading 1 matters there: a plain minimax fit errs by 2.6e-9 at f = 0); inline and branch-free so gcc
# vectorises it (4 doubles per AVX2 instruction). 2^n is built in the exponent bits: n + 1.5*2^52
# + 1023 holds n + 1023 in its low mantissa bits, shifted left by 52 (no float->int64 conversion,
# which AVX2 lacks; the rint keeps -ffast-math from folding "x + shift - shift" back to x).
# Valid for x in [-1022, 1023] only: callers either prove that from parameter bounds and the data's
# range (see _plan_c) or use the clamped ff_exp2c. exp(x) = 2^(x log2 e); the generator folds the
# log2 e into loop-invariant parameter products so the month loop pays no extra multiply.
# ff_tanh: tanh via exp, odd Taylor series below |x| < 0.01 to keep relative accuracy near 0.
# ff_log: exponent and mantissa by integer bit operations (no float<->int64 conversion, which
# AVX2 lacks), then the atanh series to z^15 (relative error < 1e-12).
C_PRELUDE = r"""#include <math.h>
#include <stdint.h>
#include <string.h>
static inline double ff_min(double a, double b) { return a < b ? a : b; }
static inline double ff_max(double a, double b) { return a > b ? a : b; }
static inline double ff_pow2i(double n) {
  /* 2^n for integer n in [-1022, 1023] from exponent bits: n + 1.5 * 2^52 + 1023 holds n + 1023
     in its low mantissa bits */
  double t = n + 6755399441056767.0;
  int64_t b;
  memcpy(&b, &t, 8);
  b <<= 52;
  double s;
  memcpy(&s, &b, 8);
  return s;
}
static inline double ff_exp2u(double x) {
  double n = __builtin_rint(x);
  double f = x - n;
  return (1.0 + f * (0.6931471880293425 + f * (0.2402265092234272 + f * (0.055503571042530925
          + f * (0.009618056669890468 + f * (0.001339086735134046 + f * 0.00015461447461187085))))))
         * ff_pow2i(n);
}
static inline double ff_exp2su(double x) {
  /* the short form: q of degree 4, relative error < 9.2e-8 (budgeted, see EXP_SHORT_ERR) */
  double n = __builtin_rint(x);
  double f = x - n;
  return (1.0 + f * (0.6931469776645545 + f * (0.24022242049121323 + f * (0.055507336632230085
          + f * (0.009671514304712516 + f * 0.0013264749701262723))))) * ff_pow2i(n);
}
static inline double ff_exp2c(double x) {
  /* 2^-1022 (2.2e-308) stands for 0 and 2^1023 for overflow (see the tolerance rule) */
  return ff_exp2u(x < -1022.0 ? -1022.0 : (x > 1023.0 ? 1023.0 : x));
}
static inline double ff_exp2sc(double x) {
  return ff_exp2su(x < -1022.0 ? -1022.0 : (x > 1023.0 ? 1023.0 : x));
}
static inline double ff_exp(double x) { return ff_exp2c(x * 1.4426950408889634); }
static inline double ff_log(double x) {
  /* x = m 2^e, m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(z), z = (m - 1)/(m + 1), |z| < 0.172 */
  const double two52 = 0x1p52;
  int64_t b, tb;
  x = x > 1e-300 ? x : 1e-300;  /* log(x <= 0) -> log(1e-300) = -690.8: exp() of it is ~0 */
  memcpy(&b, &x, 8);
  /* e = exponent of x / sqrt(1/2), by a logical shift of a biased difference (AVX2 has no
     64-bit arithmetic shift); the bias 1000 keeps it positive for x in [1e-300, 1e308] */
  uint64_t k = (uint64_t)(b - 0x3fe6a09e667f3bcdLL) + ((uint64_t)1000 << 52);
  int64_t eb = (int64_t)(k >> 52) - 1000;
  int64_t mb = b - (int64_t)((uint64_t)eb << 52);
  double m;
  memcpy(&m, &mb, 8);
  tb = (eb + 1024) | 0x4330000000000000LL;  /* e + 1024 < 2^52: exact as the mantissa of 2^52 */
  double e;
  memcpy(&e, &tb, 8);
  e = e - two52 - 1024.0;
  double z = (m - 1.0) / (m + 1.0);
  double z2 = z * z;
  double q = 2.0 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11
             + z2 * (2.0 / 13 + z2 * (2.0 / 15)))))));
  return e * 0.6931471805599453 + z * q;
}
static inline double ff_tanh(double x) {
  double a = fabs(x);
  double big = 1.0 - 2.0 / (ff_exp(2.0 * a) + 1.0);
  double x2 = a * a;
  double small = a * (1.0 - x2 * (1.0 / 3 - x2 * (2.0 / 15 - x2 * (17.0 / 315))));
  double m = a < 0.01 ? small : big;
  return x < 0 ? -m : m;
}
"""

LOG2E = 1.4426950408889634
