"""The search steps of a run: the baseline and its fit noise, then the iterations of
propose -> ground -> fit -> keep | discard | reject | crash."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from fireform.ablation.subsets import exact_start, neutral_setting
from fireform.agent import Recorder, TrainingView, build_context, ground, parse_proposal
from fireform.exceptions import BudgetExhaustedError, FireformError, ProposalError, SpecError
from fireform.fitting import FitResult
from fireform.forms import Form, params_of
from fireform.loop.state import RunState, fit_id, fmt
from fireform.mechanisms import BASELINES, baseline

__all__ = ["baseline_form", "fit_baseline", "repeats", "iterate", "warm_from", "exact_from"]


def baseline_form(st: RunState) -> Form:
    b = st.spec.baseline
    if b.mechanisms:
        return Form.from_mechanisms(b.mechanisms, name="baseline")
    assert b.form is not None  # BaselineSpec requires form or mechanisms
    if b.form in BASELINES:
        return Form.from_json(baseline(b.form))
    if not Path(b.form).is_file():
        raise SpecError(f"baseline.form {b.form!r}: not a baseline name ({', '.join(BASELINES)}) "
                        "nor a form JSON file")
    return Form.load(b.form)


def fit_baseline(st: RunState) -> None:
    form = baseline_form(st)
    missing = [i for i in form.inputs if i not in st.train]
    if missing:
        raise SpecError(f"baseline form {form.name!r} needs inputs {missing} absent from the data; "
                        f"available: {', '.join(st.train.variables)}")
    st.journal.put_form(form)
    st.journal.put_state("baseline_hash", form.hash)
    st.baseline, st.incumbent, st.noise = repeats(st, form, first=None, label="baseline")
    st.baseline_noise = st.noise


def repeats(st: RunState, form: Form, *, first: FitResult | None, label: str,
            warm: dict | None = None, exact: list[dict] | None = None) -> tuple[FitResult, FitResult, float]:
    """Fit ``form`` with ``budget.repeats`` seeds (``first``: the seed-0 fit when already done;
    ``warm``: the warm start it used, so every seed runs the same protocol). Returns (seed-0 fit,
    best fit, noise). Noise = sample standard deviation of the training objective over the seeds,
    floored at ``budget.min_noise`` and at the baseline's: the spread a rival must beat."""
    recs = [] if first is None else [first]
    for k in range(len(recs), st.spec.budget.repeats):
        rec, cached = st.fit(form, role=label if k == 0 else "repeat", seed=st.spec.seed + k, warm=warm,
                             exact=exact)
        recs.append(rec)
        st.say(label if label == "baseline" else "repeat",
               f"fit {k + 1}/{st.spec.budget.repeats} {form.name or ''} [{form.hash}] "
               f"seed {rec.seed} obj {fmt(rec.value)} {'cached' if cached else f'{rec.wall_seconds:.1f}s'}")
    values = np.array([r.value for r in recs])
    noise = max(float(values.std(ddof=1)) if values.size > 1 else 0.0, st.spec.budget.min_noise)
    # Warm-started seeds of a child can agree exactly (the enqueued parent point wins every time):
    # the spread measured on the baseline stays a floor, so "beats by more than the noise" never
    # shrinks to nothing.
    noise = max(noise, st.baseline_noise)
    best = recs[int(np.argmax(values))]
    hist = st.journal.get_state("noise_history", [])
    if not any(h["form_hash"] == form.hash for h in hist):
        hist.append({"form_hash": form.hash, "values": values.tolist(), "noise": noise})
        st.journal.put_state("noise_history", hist)
    st.journal.put_state("noise", {"value": noise, "form_hash": form.hash, "repeats": values.tolist(),
                                   "definition": "sample standard deviation of the training objective "
                                                 "over repeated fits of the incumbent with different "
                                                 "seeds, at least the baseline's (and budget.min_noise)"})
    st.say("noise", f"fit noise {noise:.4f} of [{form.hash}] from {len(values)} seeds: "
           + " ".join(fmt(v) for v in values) + f"; incumbent value {fmt(best.value)}")
    return recs[0], best, noise


def warm_from(st: RunState, inc: FitResult, form: Form) -> dict[str, float]:
    """Warm start of a child: the incumbent's fitted values of the terms they share."""
    return params_of(inc.params, set(form.term_ids) & set(st.journal.form(inc.form_hash).term_ids))


def exact_from(st: RunState, inc: FitResult, form: Form) -> list[dict] | None:
    """For a child that adds terms to the incumbent: the incumbent's optimum with each added term
    at its most constant setting, evaluated as given (:func:`fireform.ablation.subsets.exact_start`),
    so the child's fit never ends below the incumbent for want of a start. Measured on the demo
    world: adding the true ``hyperarid_suppression`` to the incumbent fitted 0.9283 from its
    defaults, below the incumbent's 0.9316. None for a child that removes a term (its level
    changes: the re-levelled warm start serves it)."""
    inc_ids = set(st.journal.form(inc.form_hash).term_ids)
    if not inc_ids <= set(form.term_ids) or inc_ids == set(form.term_ids):
        return None

    def neutral(tid: str):
        if tid not in st.neutral:
            st.neutral[tid] = neutral_setting(form.subset([tid]), st.ctx)
        return st.neutral[tid]

    pt = exact_start(form, inc.params, neutral)
    return [pt] if set(pt) == set(form.param_names) else None


def _tried(st: RunState) -> set[str]:
    hashes = set(st.journal.fits().form_hash)
    hashes |= set(st.journal.proposals().form_hash.dropna())
    return hashes


def _replay(st: RunState, it: int, old: dict) -> None:
    """A proposal finished before a kill: restore the incumbent from its journaled fit."""
    if old["status"] == "keep" and old["form_hash"]:
        fits = st.journal.fits()
        f = fits[(fits.form_hash == old["form_hash"]) & (fits.role == "candidate")]
        if not f.empty:
            form = st.journal.form(old["form_hash"])
            first = st.journal.fit_by_id(int(f.iloc[0].id))
            _, st.incumbent, st.noise = repeats(  # the first fit's own protocol
                st, form, first=first, label="candidate",
                warm=dict(first.warm_start[0]) if first.warm_start else None,
                exact=[dict(p) for p in first.extra.get("warm_exact", [])] or None)
    st.say("iter", f"{it} | {old['action']} | {old['status']} | replayed from the journal")


def _recorder(st: RunState) -> Recorder:
    b = st.spec.budget
    rec = Recorder(sink=st.journal.add_message, proposer=st.spec.proposer.name,
                   max_tokens=b.llm_tokens, max_cost_usd=b.llm_cost_usd)
    msgs = st.journal.messages()  # a resumed run's budget counts the whole run
    if not msgs.empty:
        rec.usage.tokens_in = int(msgs.tokens_in.sum())
        rec.usage.tokens_out = int(msgs.tokens_out.sum())
        rec.usage.cost_usd = float(msgs.cost_usd.sum())
    return rec


def _ask(st: RunState, it: int, recorder: Recorder):
    """The proposer's answer for iteration ``it``: (proposal, None), (None, (raw text, why)) for
    a malformed one, or (None, None) when it has nothing left (or the LLM budget is spent)."""
    b = st.spec.budget
    o = st.spec.objective
    ctx = build_context(iteration=it, view=TrainingView(st.journal), incumbent_fit_id=fit_id(st.incumbent),
                        drivers=st.train, bench=st.bench, convention=o.convention, region=o.region,
                        noise=st.noise, budget_left={"iterations": b.iterations - it + 1,
                                                     "wall_seconds": round(st.wall_left())},
                        seed=st.spec.seed)
    recorder.iteration = it
    st.journal.add_message(it, proposer=st.spec.proposer.name, role="context", content=ctx.to_json())
    st.screen_starts = {str(m["form_hash"]): dict(m.get("start") or {}) for m in ctx.screen}
    # journaled with the context: a proposal resumed after a kill starts its fit from the same point
    st.journal.put_state(f"screen_starts/{it}", st.screen_starts)
    p = st.proposer()
    p.bind(recorder)
    if hasattr(p, "bind_training"):
        p.bind_training(st.train)  # LLM proposers ground their retries on training data
    try:
        prop = p.propose(ctx)
    except BudgetExhaustedError as e:
        st.stop_reason = str(e)
        return None, None
    except ProposalError as e:
        return None, ("", str(e))
    if prop is None:
        st.stop_reason = "the proposer has nothing left to propose"
        return None, None
    if isinstance(prop, (str, dict)):
        try:
            prop = parse_proposal(prop)
        except ProposalError as e:
            return None, (prop if isinstance(prop, str) else json.dumps(prop), str(e))
    return prop, None


def iterate(st: RunState) -> None:
    """``budget.iterations`` proposals, each fitted and kept when it beats the incumbent by more
    than the fit noise; stops early on the wall-time or LLM budget or an empty proposer."""
    b = st.spec.budget
    j = st.journal
    name = st.spec.proposer.name
    recorder = _recorder(st)
    st.stop_reason = f"budget.iterations = {b.iterations} reached"
    for it in range(1, b.iterations + 1):
        t = time.perf_counter()
        if st.wall_left() <= 0:
            st.stop_reason = f"wall-time budget {b.wall_minutes} min spent"
            st.say("stop", st.stop_reason)
            break
        old = j.proposal(it)
        inc = st.incumbent
        raw = None
        if old is not None:
            st.screen_starts = j.get_state(f"screen_starts/{it}") or {}
            try:
                prop = parse_proposal(old["json"])
            except ProposalError as e:
                prop, raw = None, (old["json"], str(e))
        else:
            prop, raw = _ask(st, it, recorder)
            if prop is None and raw is None:
                st.say("stop", st.stop_reason)
                break
        if prop is None:  # malformed answer: rejected with its reasons
            assert raw is not None  # set whenever no proposal came back and the loop went on
            text, why = raw
            j.add_proposal(it, proposer=name, action="", rationale="", data=text, status="reject",
                           reasons=[f"schema: {why}"], parent_hash=inc.form_hash)
            st.say("iter", f"{it} | ? | reject | schema: {why[:120]}")
            continue
        if old is None:
            j.add_proposal(it, proposer=name, action=prop.action, rationale=prop.rationale,
                           data=prop.model_dump(), status="pending", parent_hash=inc.form_hash)
        elif old["status"] in ("keep", "discard", "reject", "crash"):
            _replay(st, it, old)
            continue
        g = ground(prop, drivers=st.train, tried=_tried(st) - {h for h in [old and old.get("form_hash")] if h})
        if not g.ok:
            j.add_proposal(it, proposer=name, action=prop.action, rationale=prop.rationale,
                           data=prop.model_dump(), status="reject", reasons=list(g.reasons),
                           form_hash=g.form.hash if g.form is not None else None, parent_hash=inc.form_hash)
            st.say("iter", f"{it} | {prop.action or '?'} | reject | {'; '.join(g.reasons)[:160]}")
            continue
        form = g.form
        assert form is not None  # grounding passed, so the form was built
        j.put_form(form)
        j.add_proposal(it, proposer=name, action=prop.action, rationale=prop.rationale,
                       data=prop.model_dump(), status="pending", form_hash=form.hash, parent_hash=inc.form_hash)
        # the new term at its best screened setting (the screen searched it with the others held)
        warm = {**warm_from(st, inc, form), **st.screen_starts.get(form.hash, {})}
        exact = exact_from(st, inc, form)
        try:
            rec, cached = st.fit(form, role="candidate", warm=warm, exact=exact)
        except FireformError as e:
            j.set_proposal(it, status="crash", reasons=[f"{type(e).__name__}: {e}"])
            st.say("iter", f"{it} | {prop.action} | crash | {type(e).__name__}: {str(e)[:120]}")
            continue
        keep = rec.value > inc.value + st.noise
        status = "keep" if keep else "discard"
        j.set_proposal(it, status=status, reasons=[
            f"training objective {fmt(rec.value)} vs incumbent {fmt(inc.value)} "
            f"(noise {st.noise:.4f}): {'beats it' if keep else 'does not beat it'} by more than the noise"])
        if keep:
            _, st.incumbent, st.noise = repeats(st, form, first=rec, label="candidate", warm=warm, exact=exact)
        st.say("iter", f"{it} | {prop.action} | {','.join(form.term_ids)} [{form.hash}] | obj "
               f"{fmt(rec.value)} inc {fmt(inc.value)} noise {st.noise:.4f} | {status} | "
               f"{'cached' if cached else f'{time.perf_counter() - t:.1f}s'}")
    j.put_state("stop_reason", st.stop_reason)
    j.put_state("incumbent_fit", fit_id(st.incumbent))
