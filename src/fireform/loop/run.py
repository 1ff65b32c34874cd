"""The autoresearch loop.

check inputs -> baseline fit (+ repeats: fit noise) -> iterations of
propose -> ground -> fit -> score -> keep | discard | reject | crash -> Shapley on the incumbent
-> prune -> refit -> equivalence classes and Shapley robustness (:mod:`.identify`) -> the final
form's seed fits and parameter spread (seeds, bootstrapped training years) -> holdout scored once
(journaled reads; seed fits and block-bootstrap intervals in the same read) -> deployment check
(Fortran export compiled and run; must match Python) -> win decision under the spec (intervals,
and the reason for every convention it cannot decide).

The steps are functions over a :class:`~fireform.loop.state.RunState` (:mod:`.search`,
:mod:`.ablate`, :mod:`.finish`). Every step prints one greppable line ``fireform <step> | ...``
and journals it. Resuming replays the same steps: finished fits are read back from the journal
by key (never refitted), proposals already journaled for an iteration are reused (an LLM is not
asked again), and holdout scores already read are reused (the holdout is not read twice).

Stopping rules: ``budget.iterations`` proposals, ``budget.wall_minutes`` of wall time in this
process, the LLM token/cost budget, or a proposer with nothing left to propose.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fireform.agent import Proposer
from fireform.drivers import Drivers, derivations, gate
from fireform.exceptions import DataChangedError, FireformError
from fireform.loop import ablate, finish, identify, search, uncertainty
from fireform.loop.data import load_run_drivers, run_split
from fireform.loop.journal import JOURNAL_NAME, Journal
from fireform.loop.lock import RunLock
from fireform.loop.results_table import write_results_tsv
from fireform.loop.spec import Spec, load_spec
from fireform.loop.state import RunState
from fireform.mechanisms import REGISTRY

__all__ = ["RunResult", "run", "resume", "new_run_dir", "unavailable_mechanisms", "SPEC_NAME"]

SPEC_NAME = "spec.toml"
Reporter = Callable[[Path], Path]  # run folder -> report path (fireform.report.build_report)


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    report: Path | None
    status: str
    decision: dict


def new_run_dir(spec: Spec, root: str | Path = "runs") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{spec.name}-{stamp}"
    p, k = base, 1
    while p.exists():
        k += 1
        p = Path(f"{base}-{k}")
    return p


def run(spec: Spec | str | Path, *, run_dir: str | Path | None = None, root: str | Path = "runs",
        report: Reporter | None = None, echo: Callable[[str], None] | None = None,
        proposer: Proposer | None = None) -> RunResult:
    """Start a run of ``spec`` (a Spec or a path to TOML) in ``run_dir`` (new by default);
    ``report`` builds the report from the finished run folder."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    rd = Path(run_dir) if run_dir is not None else new_run_dir(spec, root)
    rd.mkdir(parents=True, exist_ok=True)
    with RunLock(rd) as lock:  # first: nothing below may race another writer of the folder
        if (rd / JOURNAL_NAME).exists():
            j = Journal(rd)
            j.check_spec(spec)  # refuses a different spec with the difference
            j.close()
        spec_file = rd / SPEC_NAME
        if not spec_file.exists():
            spec_file.write_text(spec.to_toml())
        return _execute(RunState(spec, rd, echo=echo, proposer=proposer), report, lock)


def resume(run_dir: str | Path, *, spec: Spec | str | Path | None = None, report: Reporter | None = None,
           echo: Callable[[str], None] | None = None, proposer: Proposer | None = None) -> RunResult:
    """Resume a run from its journal. The spec in the folder (or ``spec``) must equal the frozen
    one; otherwise SpecError lists the differences."""
    rd = Path(run_dir)
    if not (rd / JOURNAL_NAME).exists():
        raise FireformError(f"no run to resume in {rd} (no {JOURNAL_NAME}; is this a fireform run folder?)")
    with RunLock(rd) as lock:
        j = Journal(rd)
        if spec is None:
            f = rd / SPEC_NAME
            spec = load_spec(f) if f.exists() else j.frozen_spec()
        elif not isinstance(spec, Spec):
            spec = load_spec(spec)
        j.check_spec(spec)
        j.close()
        return _execute(RunState(spec, rd, echo=echo, proposer=proposer), report, lock)


def _prepare(st: RunState) -> None:
    """Drivers, the split (holdout sealed), the fit context, and the input checks on the
    training years (the holdout target is not read for them)."""
    t = time.perf_counter()
    s = st.spec.split
    drivers, derived = load_run_drivers(st.spec)
    _fingerprints(st, drivers)
    _derived_from_model(st, drivers)
    if "grid_note" in drivers.ds.attrs:
        st.say("inputs", str(drivers.ds.attrs["grid_note"]))
    st.start_fitting(run_split(drivers, derived, st.spec, on_read=st.on_holdout_read))
    inputs = st.journal.get_state("inputs")
    if "training" not in inputs:  # the training drivers with their derived arrays, as fitted
        st.journal.put_state("inputs", {**inputs, "training": st.train.fingerprint(),
                                        "derived": list(derived)})
    train = st.train
    st.say("data", f"{st.spec.data.source} {train.n_cells} cells, train {s.train_years[0]}-{s.train_years[1]} "
           f"({train.n_months} months), holdout sealed {s.holdout_years[0]}-{s.holdout_years[1]}, "
           f"{time.perf_counter() - t:.1f}s")
    _unavailable_mechanisms(st)

    def journal(report) -> None:  # before any refusal: the journal says what refused the run
        st.journal.put_input_check(report)
        c = report.summary()
        st.say("check", f"inputs ok={report.ok} errors={c['error']} warnings={c['warning']} info={c['info']}")

    report = gate(train, on_report=journal)  # the input gate of fit/shapley/score (dropped cells included)
    st.ctx.mark_checked({"input_check": "ok", "input_warnings": int(len(report.warnings))})
    iy, ix = train.cell_index  # the grid, for residual maps in the report
    for name, a in (("grid/lat", train.lat), ("grid/lon", train.lon), ("grid/iy", iy), ("grid/ix", ix)):
        st.journal.put_array(name, a)


def unavailable_mechanisms(variables) -> dict[str, list[str]]:
    """Library mechanism id -> the inputs it needs that ``variables`` lack (only mechanisms that
    cannot run on them)."""
    have = set(variables)
    return {m.id: sorted(set(m.inputs) - have) for m in REGISTRY if not set(m.inputs) <= have}


def _derived_from_model(st: RunState, drivers: Drivers) -> None:
    """Name the drivers derived from model outputs at load (VPD from tas + hurs, ...), with the
    formula and any assumption, in the run log and the journal (for the report)."""
    table = derivations(drivers)
    st.journal.put_state("derived_from_model", table.to_dict(orient="records"))
    for r in table.itertuples():
        st.say("inputs", f"{r.variable} derived from {r.derived_from.replace(' ', ' + ')}: {r.formula}"
               + (f" (assumes: {r.assumption})" if r.assumption else ""))


def _unavailable_mechanisms(st: RunState) -> None:
    """Name the library mechanisms these inputs cannot feed, with what each misses, so a
    mechanism never leaves the search silently (journaled for the report)."""
    missing = unavailable_mechanisms(st.train.variables)
    st.journal.put_state("unavailable_mechanisms", missing)
    if missing:
        st.say("inputs", f"{len(missing)} of {len(REGISTRY)} mechanisms cannot run on these inputs: "
               + "; ".join(f"{k} (needs {', '.join(v)})" for k, v in sorted(missing.items())))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fingerprints(st: RunState, drivers: Drivers) -> None:
    """Journal a content hash of every input file and of the drivers read from them; a resumed
    run whose inputs changed is refused, naming what changed (fits of two datasets never mix)."""
    # a variable split in time over files has the label "a.nc + b.nc": every chunk is hashed
    files = sorted({f for s in drivers.sources.values() for f in s.split(" + ") if Path(f).is_file()})
    now: dict[str, Any] = {"drivers": drivers.fingerprint(), "files": {f: _sha256(Path(f)) for f in files}}
    then = st.journal.get_state("inputs")
    if then is None:
        st.journal.put_state("inputs", now)
        return
    changed = [f for f in sorted(set(then["files"]) | set(now["files"]))
               if then["files"].get(f) != now["files"].get(f)]
    if changed or then["drivers"] != now["drivers"]:
        what = "; ".join(f"{f}: {then['files'].get(f, 'absent')[:12]} -> {now['files'].get(f, 'absent')[:12]}"
                         for f in changed) or f"the drivers' content {then['drivers']} -> {now['drivers']}"
        raise DataChangedError(f"the inputs of run {st.dir} changed since it started, refusing to resume "
                               f"(its fits were made on the old data): {what}")


def _execute(st: RunState, report: Reporter | None, lock: RunLock) -> RunResult:
    j = st.journal
    j.start(st.spec)
    st.say("start", f"run {st.dir} spec {st.spec.name} hash {st.spec.hash}")
    if lock.stale is not None:
        st.say("resume", f"took over the lock of process {lock.stale.get('pid', '?')}, which is gone "
               "(the run was killed)")
    try:
        p = st.proposer()  # made first: a missing API key fails before any data or fit
        if hasattr(p, "check_start"):
            p.check_start(st.spec.budget)
        _prepare(st)
        search.fit_baseline(st)
        search.iterate(st)
        ablate.shapley_and_prune(st)
        for _ in range(st.spec.identify.adopt_rounds):
            better = identify.identify(st, adopt=True)
            if better is None:
                break
            identify.adopt_better(st, better)
            ablate.shapley_and_prune(st)
        else:
            identify.identify(st)
        uncertainty.final_seeds(st)
        uncertainty.param_spread(st)
        finish.score_holdout(st)
        finish.deploy(st)
        decision = finish.decide(st)
        j.set_status("finished")
    except KeyboardInterrupt:
        j.set_status("stopped")
        st.say("stop", f"interrupted; resume with: fireform resume {st.dir}")
        write_results_tsv(j)
        raise
    except BaseException as e:
        j.put_state("error", f"{type(e).__name__}: {e}")
        j.set_status("failed")
        st.say("error", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        write_results_tsv(j)
        raise
    write_results_tsv(j)
    path = None
    if report is not None:
        path = report(st.dir)
        st.say("report", f"{path}")
    j.close()
    return RunResult(st.dir, path, "finished", decision)
