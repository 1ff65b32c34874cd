"""The experiment spec: what "better" means, pinned before anything runs.

A TOML file validated by pydantic (unknown keys are errors). When a run starts, the validated
spec is frozen: its canonical JSON (sorted keys, defaults filled in) is hashed (sha256, first 16
hex digits) and both go into the journal and the report. Resuming a run whose spec differs from
the frozen one is refused, with the differing fields listed (:func:`spec_diff`).

Sections (see ``examples/twin.toml`` and ``examples/pantanal.toml``)::

    name = "twin-demo"
    [data]      source = "twin" | "pantanal" | "files"; twin: res, years, seed, truth, noise;
                files: paths (drivers and target together) or model + obs (model output and
                observations apart: globs relative to the spec file's folder), mapping, obs_var,
                regions; derived = [derived drivers to add]
    [split]     train_years = [first, last]; holdout_years = [first, last]; holdout_regions = []
    [objective] convention = "ilamb2"; region = "global"
    [baseline]  form = "ed2_stock" (a baseline name) | path to a form JSON; or mechanisms = [...]
    [win]       margin = 0.0 over the baseline on holdout; conventions = "all" | [names];
                require_interval = true; interval = 0.90; bootstrap = 400 (see WinSpec)
    [budget]    iterations, trials, repeats, sampler, early_stop, wall_minutes, llm_tokens,
                llm_cost_usd, min_noise, param_bootstrap, param_trials
    [proposer]  name = "heuristic" | ...; settings = {...}
    [shapley]   enabled, trials, prune_share, max_players, executor, workers
    [deploy]    fortran = true, rel_tol = 1e-5
    [identify]  enabled, max_swaps_per_term, robust_trials_factor, robust_min_ratio, wall_minutes
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fireform.agent.llm.secrets import secret_in
from fireform.exceptions import SpecError
from fireform.fitting import DEFAULT_SAMPLER, SAMPLERS, SUBSET_SAMPLER
from fireform.mechanisms import BASELINES
from fireform.scoring import CONVENTIONS

__all__ = [
    "Spec",
    "DataSpec",
    "SplitSpec",
    "ObjectiveSpec",
    "BaselineSpec",
    "WinSpec",
    "BudgetSpec",
    "ProposerSpec",
    "ShapleySpec",
    "DeploySpec",
    "IdentifySpec",
    "load_spec",
    "parse_spec",
    "spec_diff",
    "demo_spec",
    "files_spec_toml",
]


def _known_sampler(v: str, field: str) -> str:
    if v not in SAMPLERS:
        raise ValueError(f"{field} {v!r}; valid: {', '.join(SAMPLERS)}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    source: Literal["twin", "pantanal", "files"] = "twin"
    # twin world
    res: float = Field(default=3.0, ge=0.25, le=5.0)
    years: tuple[int, int] = (2001, 2012)
    seed: int = Field(default=0, ge=0)
    truth: str = "demo"  # name of a demo truth, or a path to a form JSON with defaults
    noise: float = Field(default=0.2, ge=0.0, le=2.0)  # sigma of the multiplicative lognormal noise
    # files: ``paths`` holds drivers and target together; ``model`` (the model's output: the
    # drivers, and its own burned area for the comparison row) and ``obs`` (the observations:
    # the target) keep them apart. Globs; relative entries are resolved against the spec file's
    # folder by ``load_spec``.
    paths: list[str] = Field(default_factory=list)
    model: list[str] = Field(default_factory=list)
    obs: list[str] = Field(default_factory=list)
    obs_var: str | None = None  # the observations' burned-area variable (default: identified)
    # the grid model and observations meet on when they differ: the coarser of the two (nothing
    # is invented below a grid's resolution), or always the model's / the observations'
    grid: Literal["coarser", "model", "obs"] = "coarser"
    mapping: dict[str, str] = Field(default_factory=dict)  # adds to the identified variables
    regions: str = "ilamb"
    data_dir: str | None = None  # default: $FIREFORM_DATA
    derived: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "DataSpec":
        if self.years[0] > self.years[1]:
            raise ValueError(f"data.years {list(self.years)}: first must be <= last")
        if self.source != "files" and (self.model or self.obs):
            raise ValueError(f"data.model and data.obs need data.source = 'files' (it is {self.source!r})")
        if self.source == "files":
            if self.paths and (self.model or self.obs):
                raise ValueError("data: give paths (drivers and target in the same files) or model + obs "
                                 "(model output and observations apart), not both")
            if not self.paths and not (self.model and self.obs):
                have = "data.model without data.obs" if self.model else (
                    "data.obs without data.model" if self.obs else "neither")
                raise ValueError(f"data.source = 'files' needs data.paths, or data.model (model output: the "
                                 f"drivers) and data.obs (observed burned area: the target); got {have}")
        return self


class SplitSpec(_Strict):
    train_years: tuple[int, int]
    holdout_years: tuple[int, int]
    holdout_regions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "SplitSpec":
        a, b = self.train_years
        c, d = self.holdout_years
        if a > b or c > d:
            raise ValueError("split: each (first, last) must have first <= last")
        if not (b < c or d < a):
            raise ValueError(
                f"split: train years {a}..{b} overlap holdout years {c}..{d}; the holdout must be sealed"
            )
        return self


class ObjectiveSpec(_Strict):
    convention: str = "ilamb2"
    region: str = "global"

    @field_validator("convention")
    @classmethod
    def _conv(cls, v: str) -> str:
        if v not in CONVENTIONS:
            raise ValueError(f"objective.convention {v!r}; valid: {', '.join(CONVENTIONS)}")
        return v


class BaselineSpec(_Strict):
    form: str | None = "ed2_stock"
    mechanisms: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "BaselineSpec":
        if not self.form and not self.mechanisms:
            raise ValueError("baseline: give form (a baseline name or form JSON path) or mechanisms")
        if self.mechanisms:
            # mechanisms win (fireform.loop.search.baseline_form); one canonical spelling, which
            # also survives TOML (no null): the run folder's spec.toml resumes to the same hash
            object.__setattr__(self, "form", None)
        return self


class WinSpec(_Strict):
    """What a WIN needs, per decidable convention: the final form's holdout Overall exceeds the
    baseline's by more than ``margin``, and, with ``require_interval``, so does the lower end of
    the ``interval`` interval of the difference (seed fits x a block bootstrap of holdout years
    and regions, ``bootstrap`` replicates: :mod:`fireform.scoring.bootstrap`).

    Defaults: ``require_interval = true``: a win is a claim about the data, not about one draw of
    holdout years and one optimizer seed; a gain whose interval reaches below the margin is
    reported with its interval and not called a win (set false for the point-estimate rule).
    ``interval = 0.90``: two-sided, so its lower end is a one-sided 95% bound, the usual 5% error
    rate for the one-sided claim "final beats baseline". ``bootstrap = 400``: ~20 replicates in
    each 5% tail; it costs under a second on the demo's 1,717-cell, 4-year holdout (the kernel
    runs once per distinct draw of years; regions are reweighted sums)."""

    margin: float = Field(default=0.0, ge=0.0, le=1.0)
    conventions: Literal["all"] | list[str] = "all"
    require_interval: bool = True
    interval: float = Field(default=0.90, ge=0.5, le=0.999)
    bootstrap: int = Field(default=400, ge=0, le=100_000)  # replicates; 0: no intervals

    @model_validator(mode="after")
    def _need_replicates(self) -> "WinSpec":
        if self.require_interval and self.bootstrap < 50:
            raise ValueError(f"win.require_interval = true needs win.bootstrap >= 50 replicates "
                             f"(got {self.bootstrap}); raise it or set require_interval = false")
        return self

    @field_validator("conventions")
    @classmethod
    def _convs(cls, v):
        if v != "all":
            bad = [c for c in v if c not in CONVENTIONS]
            if bad or not v:
                raise ValueError(f"win.conventions {v}; valid: 'all' or a subset of {list(CONVENTIONS)}")
        return v

    def names(self) -> list[str]:
        return list(CONVENTIONS) if self.conventions == "all" else list(self.conventions)


class BudgetSpec(_Strict):
    iterations: int = Field(default=12, ge=0, le=10_000)
    trials: int = Field(default=300, ge=4, le=100_000)
    repeats: int = Field(default=3, ge=2, le=50)  # fits with different seeds to measure fit noise
    sampler: str = DEFAULT_SAMPLER
    early_stop: int | None = Field(default=None, ge=5)
    wall_minutes: float = Field(default=60.0, gt=0.0)
    llm_tokens: int = Field(default=0, ge=0)  # 0 = no LLM budget (the heuristic proposer needs none)
    llm_cost_usd: float = Field(default=0.0, ge=0.0)
    # floor on the measured fit noise: converged fits from one warm start can agree to 1e-4, so
    # their spread alone would let a 0.0002 training gain (a spurious fifth term in the demo) in
    min_noise: float = Field(default=1e-3, ge=0.0)
    # the final form's parameters: refits on block-bootstrapped training years (0: none), each
    # with the final fit's protocol (sampler, warm start) and param_trials trials (default: trials)
    param_bootstrap: int = Field(default=4, ge=0, le=50)
    param_trials: int | None = Field(default=None, ge=4, le=100_000)

    _sampler = field_validator("sampler")(classmethod(lambda cls, v: _known_sampler(v, "budget.sampler")))


class ProposerSpec(_Strict):
    name: str = "heuristic"
    settings: dict[str, Any] = Field(default_factory=dict)


class ShapleySpec(_Strict):
    enabled: bool = True
    trials: int | None = Field(default=None, ge=4)  # default: budget.trials
    prune_share: float = Field(default=0.05, ge=0.0, lt=1.0)
    max_players: int = Field(default=10, ge=1, le=16)
    executor: str = "local"  # "local" (process pool), "serial", "dask", or a scheduler address
    workers: int | None = Field(default=None, ge=1)
    # the subset fits' sampler, apart from budget.sampler: 2^n warm-started fits of sub-forms
    # are best served by local CMA-ES from their subsets' optima (docs/fitting.md, "Shapley")
    sampler: str = SUBSET_SAMPLER
    # after the share rule, a kept term is refitted without when its last-in cost in the game is
    # at most this many times the fit noise, and dropped when that refit stays within the noise
    # of the best fit so far (fireform.ablation.prune.drop_covered; 0: the share rule alone). 20:
    # on the demo world the game put the covered vpd_flammability at 0.0143 (14x the noise), and
    # its refit without it won
    cover_screen: float = Field(default=20.0, ge=0.0)

    _sampler = field_validator("sampler")(classmethod(lambda cls, v: _known_sampler(v, "shapley.sampler")))


class DeploySpec(_Strict):
    fortran: bool = True
    rel_tol: float = Field(default=1e-5, gt=0.0)


class IdentifySpec(_Strict):
    """What the data can tell apart, after pruning (:mod:`fireform.loop.identify`)."""

    enabled: bool = True
    # library relatives fitted in place of each final term (closest first: fireform.ablation.swaps)
    max_swaps_per_term: int = Field(default=3, ge=0, le=40)
    # and the mechanisms whose screened swap for the term scores best (the others held at their
    # fitted values), whatever they read: relatives by the data, not the metadata
    data_swaps_per_term: int = Field(default=2, ge=0, le=40)
    # a swap better than the final form beyond the noise becomes the incumbent (pruned and
    # identified again) at most this many times (fireform.loop.identify.adopt_better)
    adopt_rounds: int = Field(default=2, ge=0, le=10)
    # the final form's Shapley game refitted with this many times shapley.trials (0: not checked)
    robust_trials_factor: int = Field(default=3, ge=0, le=20)
    # a term survives when it keeps at least this fraction of its Shapley value (and its share
    # stays >= shapley.prune_share) at the higher budget
    robust_min_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    wall_minutes: float = Field(default=10.0, gt=0.0)  # the step's own budget, in this process


class Spec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    seed: int = Field(default=0, ge=0)
    data: DataSpec = Field(default_factory=DataSpec)
    split: SplitSpec
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    baseline: BaselineSpec = Field(default_factory=BaselineSpec)
    win: WinSpec = Field(default_factory=WinSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    proposer: ProposerSpec = Field(default_factory=ProposerSpec)
    shapley: ShapleySpec = Field(default_factory=ShapleySpec)
    deploy: DeploySpec = Field(default_factory=DeploySpec)
    identify: IdentifySpec = Field(default_factory=IdentifySpec)

    @model_validator(mode="after")
    def _no_secrets(self) -> Spec:
        # refused here, when the spec is read: before anything is written (spec.toml, journal,
        # report); keys come only from the environment (README, "LLM proposers")
        found = []
        for path, value in _flatten(json.loads(self.model_dump_json())).items():
            why = secret_in(path.rsplit(".", 1)[-1], value)
            if why:
                found.append(f"{path}: {why}")
        if found:
            raise ValueError("secrets do not belong in a spec (it is journaled and shown in the "
                             "report); put keys in the environment (e.g. OPENAI_API_KEY, or "
                             "settings.api_key_env naming the variable): " + "; ".join(found))
        return self

    @model_validator(mode="after")
    def _years(self) -> "Spec":
        if self.data.source == "twin":
            lo, hi = self.data.years
            for label, (a, b) in (("train", self.split.train_years), ("holdout", self.split.holdout_years)):
                if a < lo or b > hi:
                    raise ValueError(
                        f"split.{label}_years {a}..{b} outside data.years {lo}..{hi}"
                    )
        return self

    # -- freezing ---------------------------------------------------------------------------
    def canonical(self) -> dict:
        d = json.loads(self.model_dump_json())
        # fields added later are left out while unused, so a spec written before them keeps its
        # hash (and a run started then can still be resumed)
        for key, unused in (("model", []), ("obs", []), ("obs_var", None), ("grid", "coarser")):
            if d["data"].get(key) == unused:
                del d["data"][key]
        return d

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    def to_toml(self) -> str:
        """TOML text of the canonical spec (round-trips through :func:`parse_spec`)."""
        return _to_toml(self.canonical())


def parse_spec(data: dict | str, *, source: str = "<spec>", base_dir: str | Path | None = None) -> Spec:
    """Validate a dict or TOML text; errors name the file, the field and what was expected.
    ``base_dir``: the folder relative ``data.model`` / ``data.obs`` entries are resolved against
    (the spec file's folder; the frozen spec holds absolute patterns, so a run folder's copy of the
    spec reads the same files)."""
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"{source}: not valid TOML: {e}") from None
    if base_dir is not None and isinstance(data.get("data"), dict):
        sec = dict(data["data"])
        for key in ("model", "obs"):
            if isinstance(sec.get(key), list):
                sec[key] = [str(Path(base_dir).resolve() / x) if isinstance(x, str) and not Path(x).is_absolute()
                            else x for x in sec[key]]
        data = {**data, "data": sec}
    try:
        return Spec.model_validate(data)
    except ValidationError as e:
        lines = [f"  {'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                 for err in e.errors()]
        raise SpecError(f"{source}: invalid experiment spec:\n" + "\n".join(lines)) from None


def load_spec(path: str | Path) -> Spec:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec file {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"spec file {str(p)!r} is not UTF-8 text (byte {e.start}: {e.reason}); "
                        "save it as UTF-8") from None
    return parse_spec(text, source=str(p), base_dir=p.parent)


def demo_spec(**budget) -> Spec:
    """The spec ``fireform demo`` runs: ``fireform/loop/twin.toml`` (``examples/twin.toml`` links to
    it), with ``budget`` fields overridden (e.g. ``iterations=2``)."""
    text = resources.files("fireform.loop").joinpath("twin.toml").read_text()
    spec = parse_spec(text, source="fireform/loop/twin.toml")
    if not budget:
        return spec
    d = spec.canonical()
    d["budget"].update(budget)
    return parse_spec(d, source="fireform demo")


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def spec_diff(frozen: Spec | dict, other: Spec | dict) -> list[str]:
    """Lines ``field: frozen -> new`` for every field that differs (empty when equal)."""
    a = _flatten(frozen.canonical() if isinstance(frozen, Spec) else frozen)
    b = _flatten(other.canonical() if isinstance(other, Spec) else other)
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k, "<absent>") != b.get(k, "<absent>"):
            out.append(f"{k}: {json.dumps(a.get(k, '<absent>'))} -> {json.dumps(b.get(k, '<absent>'))}")
    return out


# -- a small TOML writer for the canonical dict (tomllib only reads) ----------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise SpecError(f"cannot write {v!r} as TOML")


def _to_toml(d: dict) -> str:
    top, tables = [], []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, dict) and k not in ("mapping", "settings"):
            lines = [f"[{k}]"]
            for kk, vv in v.items():
                if vv is not None:
                    lines.append(f"{kk} = {_toml_value(vv)}")
            tables.append("\n".join(lines))
        else:
            top.append(f"{k} = {_toml_value(v)}")
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def files_spec_toml(*, name: str, model: list[str], obs: list[str], train: tuple[int, int],
                    holdout: tuple[int, int], baseline: str = "ed2_stock", mapping: dict[str, str] | None = None,
                    obs_var: str | None = None, regions: str = "ilamb", description: str = "") -> str:
    """A complete spec (every section, each value commented) for model output and observations
    apart (``data.model`` / ``data.obs``, paths relative to the spec file's folder); validated
    before it is returned (SpecError naming the field otherwise)."""
    q = json.dumps
    lst = lambda xs: "[" + ", ".join(q(x) for x in xs) + "]"  # noqa: E731
    ov = (f"obs_var = {q(obs_var)}" if obs_var else
          '# obs_var = "burntArea"     # the observations\' variable, when it is not identified')
    mp = "{" + ", ".join(f"{k} = {q(v)}" for k, v in (mapping or {}).items()) + "}"
    text = f"""# fireform experiment spec, written by `fireform spec new` from the files it identified.
# Check the data with `fireform check <this file>`, then `fireform run <this file>`.
name = {q(name)}
description = {q(description or f"{name}: a burned-area formula for this model's output, scored against the observations")}
seed = 0                       # seed of every fit and proposal (a run is reproducible)

[data]
source = "files"
# model output: the drivers (one variable per file is fine; CMOR/TRENDY names are identified by the
# catalog's vocabulary, units converted once), and the model's own burned area (burntFractionAll),
# scored beside the forms as "your model today", never fitted. Globs, relative to this file's folder.
model = {lst(model)}
# observed burned area: the target
obs = {lst(obs)}
{ov}
grid = "coarser"               # grids differ: both remapped conservatively onto the coarser | "model" | "obs"
mapping = {mp}                   # catalog name = variable in the files; adds to what was identified
regions = {q(regions)}             # ilamb (ILAMB 2.x regions) | gfed | global
derived = []                   # [] = every library derived driver the inputs allow

[split]
train_years = [{train[0]}, {train[1]}]     # fitted on
holdout_years = [{holdout[0]}, {holdout[1]}]   # sealed: scored once, at the end, every read journaled
holdout_regions = []           # regions held out of training too (names from the regions above)

[objective]
convention = "ilamb2"          # the Overall score the optimizer maximises: (B + 2R + S + D)/5
region = "global"

[baseline]
form = {q(baseline)}          # the form to beat: a baseline name ({", ".join(BASELINES)}) or a form JSON

[win]
margin = 0.0                   # the final form must beat the baseline on the holdout by more than this ...
conventions = "all"            # ... under every Overall convention

[budget]
iterations = 10                # proposals
trials = 300                   # Optuna trials per fit
repeats = 3                    # fits with different seeds: the fit noise
sampler = {q(DEFAULT_SAMPLER)}
wall_minutes = 60.0            # stop proposing after this much wall time

[proposer]
name = "heuristic"             # offline; an LLM proposer needs settings and a key in the environment

[shapley]
enabled = true                 # exact Shapley ablation of the incumbent's mechanisms, then pruning
prune_share = 0.05             # mechanisms carrying less than this share are pruned
max_players = 10

[deploy]
fortran = true                 # the final form exported to Fortran, compiled, run: must match Python
rel_tol = 1e-5
"""
    parse_spec(text, source=f"spec for {name}")
    return text

