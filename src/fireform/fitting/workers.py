"""Several worker processes on one Optuna study through shared storage.

The parent creates the study (and enqueues warm-start points), then starts ``processes`` workers.
Each worker opens the same study from the storage string (a journal file or an RDB URL: the
same code runs on one machine or many), with its own sampler seed (``seed + 7919 * i``, so
workers do not propose the same points), and runs exactly its share of the requested trials with
ask/tell; shares add up to ``trials``, so the study ends with exactly that many trials, numbered
0..trials-1 by the storage, none lost and none duplicated. Each trial records its ``worker`` and
timings as user attributes. Processes are forked where the platform allows it (the prepared
context is inherited, nothing is pickled), else spawned with the training drivers.

Results are not a deterministic function of the seed (the interleaving of tells varies).
"""

from __future__ import annotations

import multiprocessing as mp
import time
import traceback
from dataclasses import dataclass, replace

import numpy as np
import optuna

from fireform.exceptions import FitError
from fireform.fitting.cache import storage_url
from fireform.fitting.context import FitContext
from fireform.fitting.samplers import SamplerSpec, make_sampler, search_space
from fireform.fitting.study import build_result, create_study, rescaled
from fireform.forms import Form

__all__ = ["WorkerTask", "run_worker", "run_processes", "shares"]


@dataclass(frozen=True)
class WorkerTask:
    form_json: str
    storage: str
    study_name: str
    n_trials: int
    spec: SamplerSpec
    worker: int
    patience: int | None = None


def shares(trials: int, processes: int) -> list[int]:
    """Split ``trials`` into ``processes`` near-equal shares that add up exactly."""
    base, extra = divmod(trials, processes)
    return [base + (1 if i < extra else 0) for i in range(processes)]


def run_worker(task: WorkerTask, ctx) -> dict:
    """Run one worker's share of trials on the shared study (``ctx``: a FitContext)."""
    form = Form.from_json(task.form_json)
    space = search_space(form)
    names = list(space)
    spec = replace(task.spec, seed=task.spec.seed + 7919 * task.worker)
    study = create_study(task.storage, task.study_name, make_sampler(spec, in_flight=2))
    numbers = []
    best, since = -np.inf, 0
    for _ in range(task.n_trials):
        t0 = time.perf_counter()
        tr = study.ask(space)
        ds = time.perf_counter() - t0
        ev = ctx.evaluate(form, np.array([tr.params[n] for n in names]))
        tr.set_user_attr("worker", task.worker)
        tr.set_user_attr("eval_s", ev.seconds)
        tr.set_user_attr("raw", ev.raw if np.isfinite(ev.raw) else None)
        tr.set_user_attr("sampler_s", ds)  # ask time (tell time is not recorded per trial here)
        study.tell(tr, ev.value)
        numbers.append(tr.number)
        if ev.value > best:
            best, since = ev.value, 0
        else:
            since += 1
            if task.patience is not None and since >= task.patience:
                break
    return {"worker": task.worker, "numbers": numbers}


def _main(task: WorkerTask, ctx_or_drivers, objective, queue) -> None:
    try:
        ctx = ctx_or_drivers if isinstance(ctx_or_drivers, FitContext) else FitContext(
            ctx_or_drivers, objective=objective
        )
        queue.put(("ok", run_worker(task, ctx)))
    except BaseException:  # report to the parent, which raises FitError
        queue.put(("error", {"worker": task.worker, "traceback": traceback.format_exc()}))


def run_processes(form, ctx, *, spec, trials, storage, study_name, warm, patience, processes, key, exact=()):
    url = storage_url(storage)
    if url is None:
        raise FitError(
            "processes > 1 needs a shared storage given as a string ('journal:PATH' or an RDB URL) "
            "or a cache folder (its journal file is used)"
        )
    t_wall = time.perf_counter()
    ctx.kernel(form)  # compiled once in the parent; forked workers inherit it
    study = create_study(url, study_name, make_sampler(spec))
    if not study.get_trials(deepcopy=False):
        for p in warm:
            study.enqueue_trial(rescaled(form, ctx, p), skip_if_exists=True)
        # exact points as given, even within Optuna's isclose tolerance of another (skip_if_exists
        # would drop an exact start lying next to a re-levelled point)
        for p in exact:
            study.enqueue_trial(dict(p))
    have = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    parts = [s for s in shares(max(trials - have, 0), processes) if s > 0]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    mpc = mp.get_context(method)
    queue = mpc.Queue()
    procs = []
    for i, n in enumerate(parts):
        task = WorkerTask(form.to_json(), url, study_name, n, spec, i, patience)
        payload = ctx if method == "fork" else ctx.drivers
        p = mpc.Process(target=_main, args=(task, payload, ctx.objective, queue), daemon=False)
        p.start()
        procs.append(p)
    reports = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    errors = [r for status, r in reports if status != "ok"]
    if errors:
        raise FitError(
            f"{len(errors)} of {len(procs)} fit workers failed; first:\n{errors[0]['traceback']}"
        )
    study = create_study(url, study_name, make_sampler(spec))
    stopped = patience is not None and sum(len(r["numbers"]) for _, r in reports) < sum(parts)
    sampler_s = float(sum(
        t.user_attrs.get("sampler_s", 0.0) for t in study.get_trials(deepcopy=False)
    ))
    eval_s = float(sum(t.user_attrs.get("eval_s", 0.0) for t in study.get_trials(deepcopy=False)))
    return build_result(
        form, ctx, study, spec=spec, trials=trials, storage=url, key=key, warm=warm,
        stopped=stopped, sampler_seconds=sampler_s, eval_seconds=eval_s,
        wall_seconds=time.perf_counter() - t_wall, timing={},
        extra={"processes": len(procs), "workers": {r["worker"]: r["numbers"] for _, r in reports}},
    )
