"""The experiment spec: what "better" means, pinned before anything runs.

A TOML file validated by pydantic (unknown keys are errors). When a run starts, the validated
spec is frozen: its canonical JSON (sorted keys, defaults filled in) is hashed (sha256, first 16
hex digits) and both go into the journal and the report. Resuming a run whose spec differs from
the frozen one is refused, with the differing fields listed (:func:`spec_diff`).

Sections (see ``examples/twin.toml`` and ``examples/pantanal.toml``)::

    name = "twin-demo"
    [data]      source = "twin" | "pantanal" | "files"; twin: res, years, seed, truth, noise;
                files: paths, mapping, regions; derived = [derived drivers to add]
    [split]     train_years = [first, last]; holdout_years = [first, last]; holdout_regions = []
    [objective] convention = "ilamb2"; region = "global"
    [baseline]  form = "ed2_stock" (a baseline name) | path to a form JSON; or mechanisms = [...]
    [win]       margin = 0.0 over the baseline on holdout; conventions = "all" | [names]
    [budget]    iterations, trials, repeats, sampler, early_stop, wall_minutes, llm_tokens,
                llm_cost_usd
    [proposer]  name = "heuristic" | ...; settings = {...}
    [shapley]   enabled, trials, prune_share, max_players, executor, workers
    [deploy]    fortran = true, rel_tol = 1e-5
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
    "load_spec",
    "parse_spec",
    "spec_diff",
    "demo_spec",
]


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
    # files
    paths: list[str] = Field(default_factory=list)
    mapping: dict[str, str] = Field(default_factory=dict)
    regions: str = "ilamb"
    data_dir: str | None = None  # default: $FIREFORM_DATA
    derived: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "DataSpec":
        if self.years[0] > self.years[1]:
            raise ValueError(f"data.years {list(self.years)}: first must be <= last")
        if self.source == "files" and not self.paths:
            raise ValueError("data.source = 'files' needs data.paths")
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
        return self


class WinSpec(_Strict):
    margin: float = Field(default=0.0, ge=0.0, le=1.0)
    conventions: Literal["all"] | list[str] = "all"

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

    @field_validator("sampler")
    @classmethod
    def _sampler(cls, v: str) -> str:
        if v not in SAMPLERS:
            raise ValueError(f"budget.sampler {v!r}; valid: {', '.join(SAMPLERS)}")
        return v


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

    @field_validator("sampler")
    @classmethod
    def _sampler(cls, v: str) -> str:
        if v not in SAMPLERS:
            raise ValueError(f"shapley.sampler {v!r}; valid: {', '.join(SAMPLERS)}")
        return v


class DeploySpec(_Strict):
    fortran: bool = True
    rel_tol: float = Field(default=1e-5, gt=0.0)


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
        return json.loads(self.model_dump_json())

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    def to_toml(self) -> str:
        """TOML text of the canonical spec (round-trips through :func:`parse_spec`)."""
        return _to_toml(self.canonical())


def parse_spec(data: dict | str, *, source: str = "<spec>") -> Spec:
    """Validate a dict or TOML text; errors name the file, the field and what was expected."""
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"{source}: not valid TOML: {e}") from None
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
    return parse_spec(text, source=str(p))


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
