"""The autoresearch loop.

check inputs -> baseline fit (+ repeats: fit noise) -> iterations of
propose -> ground -> fit -> score -> keep | discard | reject | crash -> Shapley on the incumbent
-> prune -> refit -> holdout scored once (journaled reads) -> deployment check (Fortran export
compiled and run; must match Python) -> win decision under the spec -> report.

Every step prints one greppable line ``fireform <step> | ...`` and journals it. Resuming replays
the same steps: finished fits are read back from the journal by key (never refitted), proposals
already journaled for an iteration are reused (an LLM is not asked again), and holdout scores
already read are reused (the holdout is not read twice).

Stopping rules: ``budget.iterations`` proposals, ``budget.wall_minutes`` of wall time in this
process, the LLM token/cost budget (``BudgetExhaustedError`` from the recorder), or a proposer
with nothing left to propose (``None``).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from fireform.exceptions import BudgetExhaustedError, FireformError, ProposalError, SpecError

__all__ = ["RunResult", "run", "resume", "new_run_dir", "SPEC_NAME"]

SPEC_NAME = "spec.toml"


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    report: Path | None
    status: str
    decision: dict


def new_run_dir(spec, root: str | Path = "runs") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{spec.name}-{stamp}"
    p, k = base, 1
    while p.exists():
        k += 1
        p = Path(f"{base}-{k}")
    return p


def run(spec, *, run_dir: str | Path | None = None, root: str | Path = "runs", report: bool = True,
        echo=None, proposer=None) -> RunResult:
    """Start a run of ``spec`` (a Spec or a path to TOML) in ``run_dir`` (new by default)."""
    from fireform.loop.journal import Journal
    from fireform.loop.spec import Spec, load_spec

    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    rd = Path(run_dir) if run_dir is not None else new_run_dir(spec, root)
    if (rd / "journal.sqlite").exists():
        j = Journal(rd)
        j.check_spec(spec)  # refuses a different spec with the difference
        j.close()
    rd.mkdir(parents=True, exist_ok=True)
    spec_file = rd / SPEC_NAME
    if not spec_file.exists():
        spec_file.write_text(spec.to_toml())
    return _Loop(spec, rd, echo=echo, proposer=proposer).execute(report=report)


def resume(run_dir: str | Path, *, spec=None, report: bool = True, echo=None, proposer=None) -> RunResult:
    """Resume a run from its journal. The spec in the folder (or ``spec``) must equal the frozen
    one; otherwise SpecError lists the differences."""
    from fireform.loop.journal import Journal
    from fireform.loop.spec import Spec, load_spec

    rd = Path(run_dir)
    j = Journal(rd)
    if spec is None:
        f = rd / SPEC_NAME
        spec = load_spec(f) if f.exists() else j.frozen_spec()
    elif not isinstance(spec, Spec):
        spec = load_spec(spec)
    j.check_spec(spec)
    j.close()
    return _Loop(spec, rd, echo=echo, proposer=proposer).execute(report=report)


def _fmt(x) -> str:
    try:
        return f"{float(x):.4f}"
    except (TypeError, ValueError):
        return "nan"


class _Loop:
    def __init__(self, spec, run_dir: Path, *, echo=None, proposer=None) -> None:
        from fireform.loop.journal import Journal

        self.spec = spec
        self.dir = Path(run_dir)
        self.j = Journal(self.dir, create=True)
        self.echo = echo or (lambda line: print(line, flush=True))
        self._proposer = proposer
        self.t0 = time.monotonic()

    # -- small helpers ------------------------------------------------------------------------
    def say(self, step: str, line: str) -> None:
        text = f"fireform {step} | {line}"
        self.echo(text)
        self.j.event(step, text)

    def wall_left(self) -> float:
        return self.spec.budget.wall_minutes * 60.0 - (time.monotonic() - self.t0)

    # -- the run ------------------------------------------------------------------------------
    def execute(self, *, report: bool) -> RunResult:
        self.j.start(self.spec)
        self.say("start", f"run {self.dir} spec {self.spec.name} hash {self.spec.hash}")
        try:
            p = self.proposer()  # made first: a missing API key fails before any data or fit
            if hasattr(p, "check_start"):
                p.check_start(self.spec.budget)
            self._data()
            self._baseline()
            self._iterations()
            self._shapley_and_prune()
            self._holdout()
            self._deploy()
            decision = self._decide()
            self.j.set_status("finished")
        except BaseException as e:
            status = "stopped" if isinstance(e, KeyboardInterrupt) else "failed"
            self.j.put_state("error", f"{type(e).__name__}: {e}")
            self.j.set_status(status)
            self.say("error", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            self.j.write_results_tsv()
            raise
        self.j.write_results_tsv()
        path = None
        if report:
            from fireform.report.html import build_report

            path = build_report(self.dir)
            self.say("report", f"{path}")
        self.j.close()
        return RunResult(self.dir, path, "finished", decision)

    # -- data and input checks ------------------------------------------------------------------
    def _data(self) -> None:
        from fireform.drivers.check import check_drivers
        from fireform.loop.data import load_run_drivers, split
        from fireform.scoring import Benchmark

        t = time.perf_counter()
        drivers = load_run_drivers(self.spec)
        sp = split(drivers, self.spec)
        self.train, self.holdout = sp.train, sp.holdout
        self.fingerprint = self.train.fingerprint()
        self.bench = Benchmark.from_drivers(self.train)
        self.say("data", f"{self.spec.data.source} {self.train.n_cells} cells, train "
                 f"{self.spec.split.train_years[0]}-{self.spec.split.train_years[1]} "
                 f"({self.train.n_months} months), holdout sealed {self.spec.split.holdout_years[0]}-"
                 f"{self.spec.split.holdout_years[1]}, {time.perf_counter() - t:.1f}s")
        report = check_drivers(drivers)
        self.j.put_input_check(report)
        s = report.summary()
        self.say("check", f"inputs ok={report.ok} errors={s['error']} warnings={s['warning']} info={s['info']}")
        report.raise_if_errors()
        self.drivers_full = drivers
        # grid for residual maps (report)
        iy, ix = self.train.cell_index
        self.j.put_array("grid/lat", self.train.lat)
        self.j.put_array("grid/lon", self.train.lon)
        self.j.put_array("grid/iy", iy)
        self.j.put_array("grid/ix", ix)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, form, *, role: str, seed: int | None = None, trials: int | None = None, warm=None):
        from fireform.loop.fitter import fit_key, run_fit

        b = self.spec.budget
        seed = self.spec.seed if seed is None else seed
        trials = b.trials if trials is None else trials
        conv, region = self.spec.objective.convention, self.spec.objective.region
        key = fit_key(form, self.fingerprint, convention=conv, region=region, sampler=b.sampler,
                      trials=trials, seed=seed, warm=warm, early_stop=b.early_stop)
        rec = self.j.get_fit(key)
        if rec is not None:
            return rec, True
        self.j.put_form(form)
        f = run_fit(form, self.train, self.bench, convention=conv, region=region, sampler=b.sampler,
                    trials=trials, seed=seed, warm=warm, early_stop=b.early_stop,
                    storage_dir=self.dir, context=self.fit_context())
        scores = self.bench.score(form.evaluate(f.theta, self.train)).to_frame()
        rec = self.j.add_fit(key, role=role, form_hash=form.hash, seed=seed, trials=trials,
                             value=f.value, theta=f.theta, wall=f.wall, sampler_time=f.sampler_time,
                             eval_time=f.eval_time, extra=f.extra, scores=scores)
        return rec, False

    def fit_context(self):
        """One prepared FitContext of the training data, shared by every fit of the run."""
        if getattr(self, "_ctx", None) is None:
            from fireform.fitting import FitContext, Objective

            self._ctx = FitContext(self.train, objective=Objective(
                convention=self.spec.objective.convention, region=self.spec.objective.region))
        return self._ctx

    def _baseline_form(self):
        from fireform.forms.form import Form
        from fireform.mechanisms.baselines import BASELINES, baseline

        b = self.spec.baseline
        if b.mechanisms:
            return Form.from_mechanisms(b.mechanisms, name="baseline")
        if b.form in BASELINES:
            return Form.from_json(baseline(b.form))
        p = Path(b.form)
        if not p.is_file():
            raise SpecError(f"baseline.form {b.form!r}: not a baseline name ({', '.join(BASELINES)}) "
                            "nor a form JSON file")
        return Form.load(p)

    def _baseline(self) -> None:
        form = self._baseline_form()
        missing = [i for i in form.inputs if i not in self.train]
        if missing:
            raise SpecError(f"baseline form {form.name!r} needs inputs {missing} absent from the data; "
                            f"available: {', '.join(self.train.variables)}")
        self.j.put_form(form)
        self.j.put_state("baseline_hash", form.hash)
        self.baseline_rec, self.incumbent, self.noise = self._repeats(form, first=None, label="baseline")
        self.baseline_noise = self.noise

    def _repeats(self, form, *, first, label: str, warm=None):
        """Fit ``form`` with ``budget.repeats`` seeds (``first`` is the seed-0 fit when already
        done; ``warm`` the warm start it used, so every seed runs the same protocol). Returns
        (seed-0 fit, best fit, noise). Noise = sample standard deviation of the
        training objective over the seeds, floored at ``budget.min_noise``: the spread of
        repeated fits that a rival must beat."""
        recs = [] if first is None else [first]
        for k in range(len(recs), self.spec.budget.repeats):
            rec, cached = self.fit(form, role=label if k == 0 else "repeat", seed=self.spec.seed + k,
                                   warm=warm)
            recs.append(rec)
            self.say(label if label == "baseline" else "repeat",
                     f"fit {k + 1}/{self.spec.budget.repeats} {form.name or ''} [{form.hash}] "
                     f"seed {rec.seed} obj {_fmt(rec.value)} {'cached' if cached else f'{rec.wall:.1f}s'}")
        values = np.array([r.value for r in recs])
        noise = max(float(values.std(ddof=1)) if values.size > 1 else 0.0, self.spec.budget.min_noise)
        # Warm-started seeds of a child can agree exactly (the enqueued parent point wins every
        # time): the spread measured on the baseline stays a floor, so "beats by more than the
        # noise" never shrinks to nothing.
        noise = max(noise, getattr(self, "baseline_noise", 0.0))
        best = recs[int(np.argmax(values))]
        hist = self.j.get_state("noise_history", [])
        if not any(h["form_hash"] == form.hash for h in hist):
            hist.append({"form_hash": form.hash, "values": values.tolist(), "noise": noise})
            self.j.put_state("noise_history", hist)
        self.j.put_state("noise", {"value": noise, "form_hash": form.hash, "repeats": values.tolist(),
                                   "definition": "sample standard deviation of the training objective "
                                                 "over repeated fits of the incumbent with different "
                                                 "seeds, at least the baseline's (and budget.min_noise)"})
        self.say("noise", f"fit noise {noise:.4f} of [{form.hash}] from {len(values)} seeds: "
                 + " ".join(_fmt(v) for v in values) + f"; incumbent value {_fmt(best.value)}")
        return recs[0], best, noise

    # -- iterations ----------------------------------------------------------------------------
    def proposer(self):
        if self._proposer is None:
            from fireform.agent.base import make_proposer

            p = self.spec.proposer
            self._proposer = make_proposer(p.name, **p.settings)
        return self._proposer

    def _tried(self) -> set[str]:
        hashes = set(self.j.fits().form_hash)
        props = self.j.proposals()
        hashes |= {h for h in props.form_hash.dropna()}
        return hashes

    def _iterations(self) -> None:
        from fireform.agent.base import Recorder
        from fireform.agent.context import TrainingView, build_context
        from fireform.agent.proposal import ground, parse_proposal

        b = self.spec.budget
        view = TrainingView(self.j)
        conv, region = self.spec.objective.convention, self.spec.objective.region
        recorder = Recorder(sink=self.j.add_message, proposer=self.spec.proposer.name,
                            max_tokens=b.llm_tokens, max_cost_usd=b.llm_cost_usd)
        # resumed runs: restore token usage so the budget counts the whole run
        msgs = self.j.messages()
        if not msgs.empty:
            recorder.usage.tokens_in = int(msgs.tokens_in.sum())
            recorder.usage.tokens_out = int(msgs.tokens_out.sum())
            recorder.usage.cost_usd = float(msgs.cost_usd.sum())
        self.stop_reason = f"budget.iterations = {b.iterations} reached"
        for it in range(1, b.iterations + 1):
            t = time.perf_counter()
            if self.wall_left() <= 0:
                self.stop_reason = f"wall-time budget {b.wall_minutes} min spent"
                self.say("stop", self.stop_reason)
                break
            old = self.j.proposal(it)
            inc = self.incumbent
            if old is not None:
                try:
                    prop = parse_proposal(old["json"])
                    raw = None
                except ProposalError as e:
                    prop, raw = None, (old["json"], str(e))
            else:
                ctx = build_context(iteration=it, view=view, incumbent_fit_id=inc.id, drivers=self.train,
                                    bench=self.bench, convention=conv, region=region, noise=self.noise,
                                    budget_left={"iterations": b.iterations - it + 1,
                                                 "wall_seconds": round(self.wall_left())},
                                    seed=self.spec.seed)
                recorder.iteration = it
                self.j.add_message(it, proposer=self.spec.proposer.name, role="context", content=ctx.to_json())
                p = self.proposer()
                p.bind(recorder)
                if hasattr(p, "bind_training"):
                    p.bind_training(self.train)  # LLM proposers ground their retries on training data
                try:
                    prop = p.propose(ctx)
                    raw = None
                except BudgetExhaustedError as e:
                    self.stop_reason = str(e)
                    self.say("stop", self.stop_reason)
                    break
                except ProposalError as e:
                    prop, raw = None, ("", str(e))
                if prop is None and raw is None:
                    self.stop_reason = "the proposer has nothing left to propose"
                    self.say("stop", self.stop_reason)
                    break
                if isinstance(prop, (str, dict)):
                    try:
                        prop = parse_proposal(prop)
                    except ProposalError as e:
                        raw = (prop if isinstance(prop, str) else json.dumps(prop), str(e))
                        prop = None
            if prop is None:  # malformed answer: rejected with its reasons
                text, why = raw
                self.j.add_proposal(it, proposer=self.spec.proposer.name, action="", rationale="",
                                    data=text, status="reject", reasons=[f"schema: {why}"],
                                    parent_hash=inc.form_hash)
                self.say("iter", f"{it} | ? | reject | schema: {why[:120]}")
                continue
            if old is None:
                self.j.add_proposal(it, proposer=self.spec.proposer.name, action=prop.action,
                                    rationale=prop.rationale, data=prop.model_dump(), status="pending",
                                    parent_hash=inc.form_hash)
            elif old["status"] in ("keep", "discard", "reject", "crash"):
                self._replay_status(it, old)
                continue
            g = ground(prop, drivers=self.train, tried=self._tried() - {h for h in [old and old.get("form_hash")] if h})
            if not g.ok:
                self.j.add_proposal(it, proposer=self.spec.proposer.name, action=prop.action,
                                    rationale=prop.rationale, data=prop.model_dump(), status="reject",
                                    reasons=list(g.reasons),
                                    form_hash=g.form.hash if g.form is not None else None,
                                    parent_hash=inc.form_hash)
                self.say("iter", f"{it} | {prop.action or '?'} | reject | {'; '.join(g.reasons)[:160]}")
                continue
            form = g.form
            self.j.put_form(form)
            self.j.add_proposal(it, proposer=self.spec.proposer.name, action=prop.action,
                                rationale=prop.rationale, data=prop.model_dump(), status="pending",
                                form_hash=form.hash, parent_hash=inc.form_hash)
            warm = self._warm(inc, form)
            try:
                rec, cached = self.fit(form, role="candidate", warm=warm)
            except FireformError as e:
                self.j.set_proposal(it, status="crash", reasons=[f"{type(e).__name__}: {e}"])
                self.say("iter", f"{it} | {prop.action} | crash | {type(e).__name__}: {str(e)[:120]}")
                continue
            keep = rec.value > inc.value + self.noise
            status = "keep" if keep else "discard"
            self.j.set_proposal(it, status=status, reasons=[
                f"training objective {_fmt(rec.value)} vs incumbent {_fmt(inc.value)} "
                f"(noise {self.noise:.4f}): {'beats it' if keep else 'does not beat it'} by more than the noise"])
            if keep:
                _, self.incumbent, self.noise = self._repeats(form, first=rec, label="candidate", warm=warm)
            self.say("iter", f"{it} | {prop.action} | {','.join(form.term_ids)} [{form.hash}] | obj "
                     f"{_fmt(rec.value)} inc {_fmt(inc.value)} noise {self.noise:.4f} | {status} | "
                     f"{'cached' if cached else f'{time.perf_counter() - t:.1f}s'}")
        self.j.put_state("stop_reason", self.stop_reason)
        self.j.put_state("incumbent_fit", self.incumbent.id)

    def _warm(self, inc, form) -> dict:
        """Warm start of a child: the incumbent's fitted values of the terms they share."""
        shared = set(form.term_ids) & set(self.j.form(inc.form_hash).term_ids)
        return {k: v for k, v in inc.theta.items() if k == "scale" or k.split(".")[0] in shared}

    def _replay_status(self, it: int, old: dict) -> None:
        """A proposal finished before a kill: restore the incumbent from its journaled fit."""
        if old["status"] == "keep" and old["form_hash"]:
            fits = self.j.fits()
            f = fits[(fits.form_hash == old["form_hash"]) & (fits.role == "candidate")]
            if not f.empty:
                form = self.j.form(old["form_hash"])
                _, self.incumbent, self.noise = self._repeats(
                    form, first=self.j.fit_by_id(int(f.iloc[0].id)), label="candidate",
                    warm=self._warm(self.incumbent, form))
        self.say("iter", f"{it} | {old['action']} | {old['status']} | replayed from the journal")

    # -- Shapley, prune, refit -------------------------------------------------------------------
    def _shapley_and_prune(self) -> None:
        inc = self.incumbent
        form = self.j.form(inc.form_hash)
        self.final = inc
        sh = self.spec.shapley
        if not sh.enabled:
            self.say("shapley", "disabled by the spec")
            return
        if len(form.terms) > sh.max_players:
            self.say("shapley", f"skipped: {len(form.terms)} terms > shapley.max_players {sh.max_players}")
            return
        try:
            from fireform.ablation import shapley
        except ImportError:
            self.say("shapley", "skipped: fireform.ablation is not available in this installation")
            return
        t = time.perf_counter()
        conv, region = self.spec.objective.convention, self.spec.objective.region
        trials = sh.trials or self.spec.budget.trials
        cached = self.j.shapley(form.hash, "values")
        if cached is None:
            # subset fits are cached in the run folder, so a killed Shapley resumes where it was
            res = shapley(form, self.fit_context(), trials=trials, sampler=self.spec.budget.sampler,
                          seed=self.spec.seed, cache=self.dir / "shapley",
                          executor=None if "://" in sh.executor else sh.executor,
                          scheduler=sh.executor if "://" in sh.executor else None, workers=sh.workers)
            self.j.put_state(f"shapley/{form.hash}", {"method": res.method, "n_fits": res.n_fits,
                                                     "fits_run": res.fits_run, "total_gain": res.total_gain,
                                                     "wall_seconds": res.wall_seconds, "executor": res.executor})
            for kind, frame in _shapley_tables(res).items():
                self.j.put_shapley(form.hash, kind, frame)
            cached = self.j.shapley(form.hash, "values")
        self.say("shapley", f"{form.name or form.hash} [{form.hash}] "
                 + " ".join(f"{r.player}={r.share:.2f}" for r in cached.itertuples())
                 + f" | {time.perf_counter() - t:.1f}s")
        keep_ids = [r.player for r in cached.itertuples() if r.share >= sh.prune_share]
        if set(keep_ids) == set(form.term_ids) or not keep_ids:
            self.say("prune", f"nothing under share {sh.prune_share:.2f}: final = incumbent")
            return
        pruned = form.subset(keep_ids)
        self.j.put_form(pruned)
        warm = {k: v for k, v in inc.theta.items() if k == "scale" or k.split(".")[0] in set(keep_ids)}
        rec, cached_fit = self.fit(pruned, role="pruned", warm=warm)
        dropped = sorted(set(form.term_ids) - set(keep_ids))
        better = rec.value >= inc.value - self.noise
        self.final = rec if better else inc
        self.j.put_state("prune", {"dropped": dropped, "pruned_hash": pruned.hash, "pruned_fit": rec.id,
                                   "accepted": bool(better)})
        self.say("prune", f"drop {','.join(dropped)} -> {','.join(pruned.term_ids)} [{pruned.hash}] obj "
                 f"{_fmt(rec.value)} vs {_fmt(inc.value)} noise {self.noise:.4f} | "
                 f"{'accepted' if better else 'refused'}")

    # -- holdout: read once ------------------------------------------------------------------------
    def _leaderboard_fits(self) -> list:
        """Baseline, every kept form, the final form (distinct fits, in that order)."""
        out = [self.baseline_rec]
        props = self.j.proposals()
        fits = self.j.fits()
        for h in props[props.status == "keep"].form_hash:
            f = fits[(fits.form_hash == h) & (fits.role == "candidate")]
            if not f.empty:
                out.append(self.j.fit_by_id(int(f.iloc[0].id)))
        out.append(self.final)
        seen, uniq = set(), []
        for r in out:
            if r.id not in seen:
                seen.add(r.id)
                uniq.append(r)
        return uniq

    def _holdout(self) -> None:
        from fireform.scoring import Benchmark

        self.j.put_state("final_fit", self.final.id)
        recs = self._leaderboard_fits()
        self.j.put_state("leaderboard_fits", [r.id for r in recs])
        done = set(self.j.scores(period="holdout").fit_id)
        todo = [r for r in recs if r.id not in done]
        if not todo:
            self.say("holdout", "already scored (journaled); not read again")
        else:
            hold = None
            for r in todo:
                hold = self.holdout.open(self.j, fit_id=r.id, form_hash=r.form_hash,
                                         purpose="final scoring: leaderboard of baseline, kept and final forms")
            hb = Benchmark.from_drivers(hold)
            for r in todo:
                form = self.j.form(r.form_hash)
                pred = form.evaluate(r.theta, hold)
                self.j.add_scores(r.id, "holdout", hb.score(pred).to_frame())
                if r.id in (self.final.id, self.baseline_rec.id):
                    self._residual_arrays(r, form, hb, pred, "holdout")
            self.say("holdout", f"read once for {len(todo)} forms (journaled)")
        for r in (self.baseline_rec, self.final):
            if self.j.get_array(f"resid/train/{r.id}/cell_bias") is None:
                form = self.j.form(r.form_hash)
                self._residual_arrays(r, form, self.bench, form.evaluate(r.theta, self.train), "train")
        from fireform.scoring import CONVENTIONS

        for r, label in ((self.baseline_rec, "baseline"), (self.final, "final")):
            v = self.j.vector(r.id, "holdout")
            from fireform.scoring import overall

            self.say("holdout", f"{label} [{r.form_hash}] " + " ".join(
                f"{c}={_fmt(overall(v, c))}" for c in CONVENTIONS))

    def _residual_arrays(self, rec, form, bench, pred, period: str) -> None:
        try:
            res = bench.residuals(pred)
        except ArithmeticError as e:  # degenerate region in the scorer's reference path
            self.say("residuals", f"{period} residuals of [{form.hash}] unavailable: {type(e).__name__}: {e}")
            return
        base = f"resid/{period}/{rec.id}"
        self.j.put_array(f"{base}/cell_bias", res.cell_bias)
        self.j.put_array(f"{base}/cell_shift", res.cell_shift_months)
        cyc = res.cycles
        regions = list(dict.fromkeys(cyc.region)) if not cyc.empty else []
        if regions:
            ref = np.array([cyc[cyc.region == r].sort_values("slot")["reference"].to_numpy(float) for r in regions])
            mod = np.array([cyc[cyc.region == r].sort_values("slot")["model"].to_numpy(float) for r in regions])
            self.j.put_array(f"{base}/cycle_ref", ref)
            self.j.put_array(f"{base}/cycle_model", mod)
            self.j.put_state(f"{base}/cycle_regions", regions)
        self.j.put_state(f"{base}/regions", json.loads(res.regions.to_json(orient="records")))

    # -- deployment check ----------------------------------------------------------------------------
    def _deploy(self) -> None:
        from fireform.loop.deploy import deployment_check

        if self.j.get_state("deploy") is not None:
            d = self.j.get_state("deploy")
            self.say("deploy", f"{'pass' if d['ok'] else 'FAIL'} (journaled) max rel diff {d.get('max_rel', 'nan')}")
            return
        if not self.spec.deploy.fortran:
            self.j.put_state("deploy", {"ok": None, "skipped": "deploy.fortran = false"})
            self.say("deploy", "skipped by the spec")
            return
        form = self.j.form(self.final.form_hash)
        d = deployment_check(form, self.final.theta, self.train, rel_tol=self.spec.deploy.rel_tol,
                             workdir=self.dir / "deploy")
        self.j.put_state("deploy", d)
        first = d.get("first_fail")
        self.say("deploy", f"{'pass' if d['ok'] else 'FAIL'} Fortran vs Python max rel diff "
                 f"{d.get('max_rel', float('nan')):.2e} over {d.get('n_values', 0)} values "
                 f"(tol {self.spec.deploy.rel_tol:g}), full chain from raw drivers, derived in Fortran: "
                 f"{', '.join(d.get('chain', {}).get('derived', [])) or 'none'}"
                 + (f"; first parts at cell {first['cell']} {first['month']}" if first else ""))

    # -- win decision --------------------------------------------------------------------------------
    def _decide(self) -> dict:
        from fireform.scoring import overall

        names = self.spec.win.names()
        vb = self.j.vector(self.baseline_rec.id, "holdout")
        vf = self.j.vector(self.final.id, "holdout")
        rows = {}
        for c in names:
            b, f = overall(vb, c), overall(vf, c)
            # A convention undefined on the holdout for both (e.g. IAV on a one-year holdout)
            # cannot be decided: reported as not applicable, not counted as a loss.
            applicable = bool(np.isfinite(b) or np.isfinite(f))
            rows[c] = {"baseline": b, "final": f, "margin": f - b, "applicable": applicable,
                       "wins": bool(np.isfinite(f) and np.isfinite(b) and f - b > self.spec.win.margin)}
        deploy = self.j.get_state("deploy") or {}
        decided = [r for r in rows.values() if r["applicable"]]
        win = bool(decided) and all(r["wins"] for r in decided) and deploy.get("ok") is not False
        final_form = self.j.form(self.final.form_hash)
        decision = {"win": bool(win), "margin_required": self.spec.win.margin, "conventions": rows,
                    "deploy_ok": deploy.get("ok"), "final_hash": final_form.hash,
                    "final_terms": list(final_form.term_ids),
                    "baseline_hash": self.baseline_rec.form_hash}
        self.j.put_state("decision", decision)
        self.say("decision", f"{'WIN' if win else 'no win'} final {','.join(final_form.term_ids)} | "
                 + " ".join(f"{c}:{_fmt(r['baseline'])}->{_fmt(r['final'])}" for c, r in rows.items()))
        return decision


def _objective_arg(convention: str, region: str):
    from fireform.fitting import Objective

    return Objective(convention=convention, region=region)


def _shapley_tables(res) -> dict[str, pd.DataFrame]:
    """Normalise the ablation result into tidy frames: values (player, value, share),
    interactions (a, b, value), subsets; whatever else it offers is kept by attribute name."""
    out: dict[str, pd.DataFrame] = {}
    for name in ("values", "interactions", "subsets", "regions", "components"):
        v = getattr(res, name, None)
        if isinstance(v, pd.DataFrame):
            out[name] = v.reset_index(drop=True)
    if "values" not in out:
        raise FireformError(f"Shapley result {type(res).__name__} has no 'values' table")
    v = out["values"]
    if "player" not in v.columns:
        for alt in ("mechanism", "term"):
            if alt in v.columns:
                v = v.rename(columns={alt: "player"})
    if "share" not in v.columns and "value" in v.columns:
        tot = v["value"].sum()
        v = v.assign(share=v["value"] / tot if tot else np.nan)
    out["values"] = v
    return out
