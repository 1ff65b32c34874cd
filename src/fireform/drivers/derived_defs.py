"""The one written definition of each derived input, as data: a monthly state machine.

A land model computes the derived inputs itself, month by month, with state carried over;
fireform computes them over whole arrays (:mod:`fireform.drivers.derived`). Both come from the
records here, so they cannot drift apart:

- the numpy functions in ``derived.py`` take their constants (scales, rates, Magnus
  coefficients, windows, thresholds) from these records;
- the Fortran modules (``fireform.forms.fortran.derived``) are generated from them: the state
  variables, their initial values, the ordered per-month assignments and the output;
- tests step the records month by month (``tests/forms/fortran/stepper.py``) and require the
  result to equal the numpy functions, first months included.

Two kinds of state machine:

``recursion``
    scalar states with initial values; each month the ``steps`` are applied in order (an
    assignment to a name that is not a state is a local of that month); ``output`` is the value.
``window``
    a trailing window of the last ``window`` monthly values of ``steps``' final local ``x``;
    ``mean`` is their mean over the months available (an expanding mean while fewer than
    ``window`` months have been seen, as ``running_mean`` does); ``output`` is a function of
    ``mean``.

Expressions are in fireform's expression language (``fireform.forms.expr``: + - * / ^, exp,
log, max, min, clip, ...), over the inputs (canonical units), ``days`` (the length of the
month in days), the constants, the states and earlier locals. A step may be conditional:
``when=(lhs, op, rhs)`` applies ``expr`` where the comparison holds and ``otherwise`` elsewhere.

NaN: a NaN input makes every state NaN from that month (the value is NaN); afterwards the
ordinary IEEE arithmetic of the steps applies (so a state that is reset recovers, one that is
accumulated stays NaN), exactly as the numpy functions behave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from fireform.exceptions import UnknownNameError

__all__ = [
    "Quantity",
    "Constant",
    "Step",
    "DerivedDef",
    "DERIVED_DEFS",
    "derived_def",
    "constant",
    "MONTH_DAYS",
    "DailyCountDef",
    "DAILY_DEFS",
    "with_window",
]

MONTH_DAYS = "days"  # the name of the month length (days) in every definition


@dataclass(frozen=True)
class Quantity:
    """A monthly input of a definition, in the catalog's canonical units."""

    name: str
    units: str
    description: str


@dataclass(frozen=True)
class Constant:
    """A named constant (or a state's initial value) with units and a full description."""

    name: str
    value: float
    units: str
    description: str


@dataclass(frozen=True)
class Step:
    """``target = expr`` (where ``lhs op rhs`` holds when ``when`` is given, else ``otherwise``)."""

    target: str
    expr: str
    when: tuple[str, str, str] | None = None
    otherwise: str | None = None

    def __post_init__(self) -> None:
        if (self.when is None) != (self.otherwise is None):
            raise ValueError(f"step {self.target!r}: 'when' and 'otherwise' go together")
        if self.when is not None and self.when[1] not in (">=", ">", "<=", "<"):
            raise ValueError(f"step {self.target!r}: comparison {self.when[1]!r} not one of >= > <= <")


@dataclass(frozen=True)
class DerivedDef:
    """One derived input as a monthly state machine (see the module docstring)."""

    name: str
    units: str
    description: str
    kind: str  # "recursion" | "window"
    inputs: tuple[Quantity, ...]
    constants: tuple[Constant, ...]
    steps: tuple[Step, ...]
    output: str
    state: tuple[Constant, ...] = ()  # recursion: the states and their initial values
    window: int = 0  # window: months in the trailing window
    first_months: str = ""
    references: tuple[str, ...] = ()
    notes: str = ""
    uses_days: bool = field(default=False)

    def __post_init__(self) -> None:
        if self.kind not in ("recursion", "window"):
            raise ValueError(f"derived {self.name!r}: kind {self.kind!r} is not recursion or window")
        if self.kind == "window" and not 1 <= self.window <= 24:
            raise ValueError(f"derived {self.name!r}: window {self.window} not in 1..24")
        if self.kind == "recursion" and not self.state:
            raise ValueError(f"derived {self.name!r}: a recursion needs states")

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.inputs)

    def const(self, name: str) -> float:
        for c in self.constants:
            if c.name == name:
                return c.value
        raise UnknownNameError(
            f"derived {self.name!r} has no constant {name!r}; it has: "
            f"{', '.join(c.name for c in self.constants)}"
        )


_GPP = Quantity("gpp", "g m-2 yr-1", "gross primary production, monthly mean rate")
_NPP = Quantity("npp", "g m-2 yr-1", "net primary production, monthly mean rate")
_PR = Quantity("pr", "mm day-1", "precipitation, monthly mean rate")
_VPD = Quantity("vpd", "kPa", "vapour-pressure deficit, monthly mean")


def _mean_def(var: str, n: int) -> DerivedDef:
    q = _GPP if var == "gpp" else _NPP
    return DerivedDef(
        name=f"{var}_mean_{n}m",
        units="g m-2 yr-1",
        description=f"trailing {n}-month running mean of {var.upper()}: mean of x(t-{n - 1})..x(t)",
        kind="window",
        inputs=(q,),
        constants=(),
        steps=(Step("x", var),),
        output="mean",
        window=n,
        first_months=(
            f"while fewer than {n} months have been seen (t < {n - 1}), the mean is over the t + 1 "
            "months available (an expanding mean); months are weighted equally"
        ),
    )


DRYNESS = DerivedDef(
    name="dryness",
    units="1",
    description="accumulated dryness balance D in [-1, 1] (1 = dry), a monthly analogue of dry_bal",
    kind="recursion",
    inputs=(_PR, _VPD),
    constants=(
        Constant("pr_scale", 3.0, "mm day-1", "precipitation e-folding scale p0 of the wetting pull"),
        Constant("vpd_scale", 1.0, "kPa", "vapour-pressure-deficit e-folding scale v0 of the drying pull"),
        Constant("rate", 0.5, "1", "pull rate r per month (r <= 0.5 keeps D in [-1, 1] without clipping)"),
    ),
    state=(Constant("d", 0.0, "1", "dryness balance D of the previous month (D before the first month)"),),
    steps=(
        Step("dry", "1 - exp(-max(vpd, 0)/vpd_scale)"),
        Step("wet", "1 - exp(-max(pr, 0)/pr_scale)"),
        Step("d", "d + rate*(1 - d)*dry - rate*(1 + d)*wet"),
    ),
    output="d",
    first_months="D before the first month is the initial value 0 (neutral); no spin-up is discarded",
    references=("Mangeon2016", "python-inferno dry_bal (Kuhn-Regnier)"),
    notes="monthly step on monthly-mean P and VPD instead of a sub-daily step",
)

PR_ANNUAL = DerivedDef(
    name="pr_annual",
    units="mm yr-1",
    description="precipitation over the trailing 12 months: sum of pr(k) days(k), k = t-11..t",
    kind="window",
    inputs=(_PR,),
    constants=(Constant("months_per_year", 12.0, "month yr-1",
                        "months in a year (mean monthly total to annual)"),),
    steps=(Step("x", "pr*days"),),
    output="months_per_year*mean",
    window=12,
    uses_days=True,
    first_months=(
        "while fewer than 12 months have been seen (t < 11), the total over the t + 1 months "
        "available scaled to 12 months: 12 * sum(pr days) / (t + 1)"
    ),
)

NESTEROV = DerivedDef(
    name="nesterov",
    units="delta_degC",
    description="monthly analogue of the Nesterov index (degC^2), summed over dry months",
    kind="recursion",
    inputs=(
        Quantity("tasmax", "K", "daily maximum near-surface air temperature, monthly mean"),
        Quantity("tas", "K", "near-surface air temperature, monthly mean"),
        Quantity("rh", "%", "near-surface relative humidity, monthly mean"),
        Quantity("dry_days", "day", "days in the month with precipitation below 1 mm"),
    ),
    constants=(
        Constant("t_freeze", 273.15, "K", "0 degC in kelvin"),
        Constant("magnus_a", 17.625, "1", "Magnus coefficient a (Alduchov and Eskridge 1996)"),
        Constant("magnus_b", 243.04, "degC", "Magnus coefficient b (Alduchov and Eskridge 1996)"),
        Constant("rh_min", 1e-3, "%", "relative humidity floor before the logarithm of the dew point"),
        Constant("rh_max", 100.0, "%", "relative humidity ceiling (saturation)"),
        Constant("full_month_tol", 1e-6, "day", "a month is all dry when dry_days >= days - this"),
    ),
    state=(Constant("acc", 0.0, "degC^2", "Nesterov sum carried from the previous month"),),
    steps=(
        Step("tc", "tas - t_freeze"),
        Step("g", "log(clip(rh, rh_min, rh_max)/100) + magnus_a*tc/(magnus_b + tc)"),
        Step("tdew", "magnus_b*g/(magnus_a - g)"),
        Step("tx", "tasmax - t_freeze"),
        Step("term", "dry_days*max(tx - tdew, 0)*max(tx, 0)"),
        Step("acc", "acc", when=("dry_days", ">=", "days - full_month_tol"), otherwise="0"),
        Step("acc", "acc + term"),
    ),
    output="acc",
    uses_days=True,
    first_months="the sum before the first month is 0",
    references=("Nesterov1949", "Thonicke2010"),
    notes=(
        "monthly means instead of daily values; dry days with the 1 mm threshold; the sum carries "
        "over only through a month without any wet day (reset at month, not day, resolution)"
    ),
)

DERIVED_DEFS: dict[str, DerivedDef] = {d.name: d for d in (DRYNESS, PR_ANNUAL, NESTEROV)}
for _var in ("gpp", "npp"):
    for _n in (3, 6, 12, 24):
        DERIVED_DEFS[f"{_var}_mean_{_n}m"] = _mean_def(_var, _n)

_MEAN = re.compile(r"^(gpp|npp)_mean_(\d+)m$")


def derived_def(name: str) -> DerivedDef:
    """The definition of a derived input; ``gpp_mean_<n>m``/``npp_mean_<n>m`` for any n in 3..24."""
    if name in DERIVED_DEFS:
        return DERIVED_DEFS[name]
    m = _MEAN.match(name)
    if m and 3 <= int(m.group(2)) <= 24:
        return _mean_def(m.group(1), int(m.group(2)))
    raise UnknownNameError(
        f"no definition of derived input {name!r}; valid: {', '.join(DERIVED_DEFS)} "
        "(or gpp/npp_mean_<3..24>m)"
    )


@dataclass(frozen=True)
class DailyCountDef:
    """A monthly count of days on which a daily input is below a threshold (``dry_days``).

    The data sets hold the monthly count; a land model counts it itself from its daily values:
    each day, add 1 where ``input < threshold``; at the end of the month the count is the value
    and restarts from 0. Numpy: :func:`fireform.drivers.derived.count_days_below`.
    """

    name: str
    units: str
    description: str
    input: Quantity
    threshold: Constant
    notes: str = ""


DRY_DAYS = DailyCountDef(
    name="dry_days",
    units="day",
    description="number of days in the month with precipitation below 1 mm",
    input=Quantity("pr_day", "mm day-1", "precipitation of one day (total over the day, mm)"),
    threshold=Constant("dry_threshold", 1.0, "mm day-1",
                       "a day is dry when its precipitation is below this"),
    notes="a NaN day is not counted as dry (the comparison is false)",
)

DAILY_DEFS: dict[str, DailyCountDef] = {DRY_DAYS.name: DRY_DAYS}


def constant(name: str, const: str) -> float:
    """The value of constant ``const`` of derived input ``name`` (what derived.py uses)."""
    return derived_def(name).const(const)


def with_window(d: DerivedDef, months: int) -> DerivedDef:
    """A copy of a window definition with another window (used to plant bugs in tests)."""
    return replace(d, window=int(months))
