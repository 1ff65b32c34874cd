"""DirectCma proposes and records exactly what Optuna's CmaEsSampler would, trial for trial."""

import math

import numpy as np
import optuna
import pytest

from fireform.fitting import cma_direct, fit
from fireform.fitting.cma_direct import DirectCma, record_trial
from fireform.fitting.samplers import local_cmaes

pytest.importorskip("cmaes")

SPACE = {"a": optuna.distributions.FloatDistribution(1e-3, 10.0, log=True),
         "b": optuna.distributions.FloatDistribution(-2.0, 3.0),
         "c": optuna.distributions.FloatDistribution(0.0, 1.0),
         "d": optuna.distributions.FloatDistribution(0.1, 100.0, log=True)}


def _objective(p: dict) -> float:
    # a smooth hill with a hole: NaN where b > 2.2 makes FAIL trials inside generations
    if p["b"] > 2.2:
        return math.nan
    return -((math.log(p["a"]) - 0.3) ** 2 + (p["b"] - 1.0) ** 2 + 3 * (p["c"] - 0.7) ** 2
             + 0.1 * (math.log(p["d"]) - 2.0) ** 2)


def _drive(direct: bool, samplers: dict, *, n: int, enqueue=()) -> list[optuna.trial.FrozenTrial]:
    """n trials; the sampler is replaced at the trial numbers ``samplers`` names (a restart)."""
    study = optuna.create_study(direction="maximize", sampler=samplers[0]())
    for p in enqueue:
        study.enqueue_trial(p)
    cma = None
    for i in range(n):
        if i in samplers and i:
            study.sampler = samplers[i]()
        prop = None
        if direct:
            cma = DirectCma.current(study, SPACE, cma)
            prop = cma.ask() if cma is not None else None
        if prop is None:
            tr = study.ask(SPACE)
            study.tell(tr, _objective(tr.params))
            cma = None
        else:
            cma.tell(prop, _objective(prop.params))
    return study.get_trials()


def _attrs(t) -> dict:
    # the pickled optimizer's bytes are compared by where they are stored, not bit for bit: cmaes
    # keeps an uninitialised (np.empty) history array in it, so even two Optuna runs differ there
    return {k: (True if ":optimizer:" in k else v) for k, v in t.system_attrs.items()}


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.number, x.state, x.params, _attrs(x)) == (y.number, y.state, y.params, _attrs(y))
        assert x.value == y.value or (x.value is None and y.value is None)


def test_plain_sampler_equal_with_startup_and_failed_trials():
    plain = {0: lambda: optuna.samplers.CmaEsSampler(seed=3, warn_independent_sampling=False)}
    a, b = _drive(False, plain, n=90), _drive(True, plain, n=90)
    _same(a, b)
    states = {t.state for t in a}
    assert optuna.trial.TrialState.FAIL in states  # the hole was hit: failures were compared too
    gens = [t.system_attrs.get("ffcma:generation", t.system_attrs.get("cma:generation", -1)) for t in a]
    assert max(gens) >= 5


def test_restarted_local_samplers_with_enqueued_points_equal():
    def loc(seed, tag, pop):
        return lambda: local_cmaes(seed=seed, x0={"a": 1.0, "b": 0.5, "c": 0.5, "d": 5.0}, sigma0=0.05,
                                   popsize=pop, tag=tag)
    samplers = {0: loc(1, "cma0", 6), 40: loc(7920, "cma40", 12), 75: loc(15839, "cma75", 24)}
    warm = [{"a": 2.0, "b": 0.0, "c": 0.2, "d": 1.0}, {"a": 0.5, "b": 1.5, "c": 0.9, "d": 50.0}]
    a = _drive(False, samplers, n=110, enqueue=warm)
    b = _drive(True, samplers, n=110, enqueue=warm)
    _same(a, b)
    assert a[0].params == warm[0] and a[1].params == warm[1]


def test_a_resumed_study_continues_as_optuna_would():
    # 50 trials through Optuna, then a new process (a fresh sampler, the state in the trials)
    # goes on for 30 more: through Optuna, or through the driver built from the study
    plain = lambda: optuna.samplers.CmaEsSampler(seed=11, warn_independent_sampling=False)  # noqa: E731
    ends = []
    for direct in (False, True):
        study = optuna.create_study(direction="maximize", sampler=plain())
        for _ in range(50):
            tr = study.ask(SPACE)
            study.tell(tr, _objective(tr.params))
        study.sampler = plain()
        cma = DirectCma.build(study, SPACE) if direct else None
        for _ in range(30):
            if cma is None:
                tr = study.ask(SPACE)
                study.tell(tr, _objective(tr.params))
            else:
                p = cma.ask()
                cma.tell(p, _objective(p.params))
        ends.append(study.get_trials())
    _same(*ends)


def test_record_trial_keeps_what_tell_keeps():
    s = optuna.create_study(direction="maximize")
    n0 = record_trial(s, SPACE, {"a": 1.0, "b": 0.0, "c": 0.5, "d": 2.0}, 0.25, user_attrs={"phase": "x"})
    n1 = record_trial(s, SPACE, {"a": 1.0, "b": 0.0, "c": 0.5, "d": 2.0}, math.nan)
    t = s.get_trials()
    assert (n0, n1) == (0, 1) and t[0].value == 0.25 and t[0].user_attrs == {"phase": "x"}
    assert t[1].state == optuna.trial.TrialState.FAIL and t[1].value is None


@pytest.mark.parametrize("storage", ["memory", "journal"])
def test_record_trial_stores_what_add_trial_stores(storage, tmp_path):
    def study():
        if storage == "memory":
            return optuna.create_study(direction="maximize")
        from optuna.storages.journal import JournalFileBackend
        st = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / f"j{len(list(tmp_path.iterdir()))}.log")))
        return optuna.create_study(direction="maximize", storage=st)
    pts = [({"a": 1.0, "b": 0.5, "c": 0.1, "d": 3.0}, 0.5), ({"a": 2.0, "b": -1.0, "c": 0.9, "d": 30.0}, math.nan),
           ({"a": 0.01, "b": 2.9, "c": 0.0, "d": 0.1}, -3.0)]
    a, b = study(), study()
    for p, v in pts:
        record_trial(a, SPACE, p, v, user_attrs={"phase": "cmaes"}, system_attrs={"g": 1})
        failed = math.isnan(v)
        b.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL if failed else optuna.trial.TrialState.COMPLETE,
            value=None if failed else v, params=p, distributions=SPACE,
            user_attrs={"phase": "cmaes"}, system_attrs={"g": 1}))
    ta, tb = a.get_trials(), b.get_trials()
    for x, y in zip(ta, tb, strict=True):
        assert (x.number, x._trial_id, x.state, x.value, x.params, x.distributions, x.user_attrs, x.system_attrs) == \
            (y.number, y._trial_id, y.state, y.value, y.params, y.distributions, y.user_attrs, y.system_attrs)
    assert a.best_trial.number == b.best_trial.number == 0


def test_not_driven_where_it_would_differ():
    s = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    assert DirectCma.build(s, SPACE) is None
    s.sampler = optuna.samplers.CmaEsSampler(seed=0, with_margin=True)
    assert DirectCma.build(s, SPACE) is None
    one = dict(SPACE, e=optuna.distributions.FloatDistribution(1.0, 1.0))
    s.sampler = optuna.samplers.CmaEsSampler(seed=0)
    assert DirectCma.build(s, one) is None


@pytest.mark.parametrize("sampler,kw", [("cmaes", {}),
                                         ("tpe+cmaes", {"sampler_options": {"tpe_fraction": 0.2,
                                                                            "restart_patience": 12}})])
def test_fits_equal_with_and_without_the_driver(twin_ctx, truth_form, sampler, kw, monkeypatch):
    warm = dict(zip(truth_form.param_names, truth_form.default_theta().tolist()))
    runs = []
    for on in (False, True):
        monkeypatch.setattr(cma_direct, "ENABLED", on)
        runs.append(fit(truth_form, twin_ctx, trials=70, sampler=sampler, seed=2, warm_start=warm, **kw))
    a, b = runs
    cols = truth_form.param_names + ["value"]
    assert np.array_equal(a.trials[cols].to_numpy(), b.trials[cols].to_numpy())
    assert a.value == b.value and a.params == b.params
