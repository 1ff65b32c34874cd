"""Optuna's CMA-ES sampler, run without its per-trial overhead: the same points, the same record.

``CmaEsSampler.sample_relative`` costs ~4-5 ms a trial in Optuna 5 (it restores the optimizer
from the study's system attributes, recomputes the intersection search space and deep-copies
every trial's parameters), a fifth of a subset fit's ~20 ms trial on the 1 degree, 16-year world.
:class:`DirectCma` does what ``sample_relative`` does, on state it keeps itself: the optimizer
stored after the last tell (among complete trials, as Optuna restores it), the complete trials of
each generation, and the sampler's own random streams (``_cma_rng``, ``_init_optimizer``). Each
point becomes an ordinary trial with ``study.add_trial``, carrying the system attributes the
sampler would have written (generation, pickled optimizer), so the study is the one Optuna
would have built and a resumed fit can continue with either. ``tests/fitting/test_cma_direct.py``
holds the two trial for trial equal (parameters and values bit for bit, restarts and failed
trials included).

Only where the equality holds: a plain ``CmaEsSampler`` (no margin, no pruned trials counted),
one objective, every parameter a float range, one trial in flight, no enqueued trial waiting.
Anywhere else ``ask`` returns None and the caller asks Optuna.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna._transform import _SearchSpaceTransform
from optuna.distributions import FloatDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState

__all__ = ["DirectCma", "Proposal", "record_trial", "ENABLED"]

ENABLED = True  # False: every trial through Optuna's ask/tell (the equality tests compare the two)


def record_trial(study: optuna.Study, space: dict, params: dict[str, float], value: float, *,
                 user_attrs: dict | None = None, system_attrs: dict | None = None) -> int:
    """Add one evaluated point to ``study`` as ``study.tell`` would leave it (a NaN value makes
    a FAIL trial, as tell does); returns its number."""
    v = float(value)
    failed = math.isnan(v)
    t = optuna.trial.create_trial(
        state=TrialState.FAIL if failed else TrialState.COMPLETE, value=None if failed else v,
        params={k: float(params[k]) for k in space}, distributions=dict(space),
        user_attrs=user_attrs, system_attrs=system_attrs)
    t._validate()  # what study.add_trial checks, then its one storage call, keeping the id
    st = study._storage
    if type(st) is optuna.storages.InMemoryStorage and all(hasattr(st, a) for a in _IN_MEMORY):
        return _append_in_memory(st, study._study_id, t)
    tid = st.create_new_trial(study._study_id, template_trial=t)
    return st.get_trial_number_from_id(tid)


# what InMemoryStorage.create_new_trial touches (Optuna 4-5)
_IN_MEMORY = ("_lock", "_check_study_id", "_max_trial_id", "_studies", "_trial_id_to_study_id_and_number",
              "_update_cache")


def _append_in_memory(st, study_id: int, t: optuna.trial.FrozenTrial) -> int:
    """``InMemoryStorage.create_new_trial(template_trial=t)`` without its deep copy of ``t``
    (a third of a recorded trial's cost): ``t`` was built here and nobody else holds it."""
    with st._lock:
        st._check_study_id(study_id)
        st._max_trial_id += 1
        t.number = len(st._studies[study_id].trials)
        t._trial_id = st._max_trial_id
        st._trial_id_to_study_id_and_number[t._trial_id] = (study_id, t.number)
        st._studies[study_id].trials.append(t)
        st._update_cache(t._trial_id, study_id)
        return t.number


# what of CmaEsSampler the driver reads or calls (Optuna 4-5); without them: Optuna's own path
_SAMPLER = ("_with_margin", "_consider_pruned_trials", "_n_startup_trials", "_cma_rng", "_init_optimizer",
            "_restore_optimizer", "_split_optimizer_str", "_attr_key_generation")


@dataclass
class Proposal:
    """A point :class:`DirectCma` proposed, until it is told."""

    number: int
    params: dict[str, float]
    system_attrs: dict[str, Any]
    generation: int
    stored: bytes | None  # the optimizer pickled after a tell made for this trial
    live: Any = None  # that optimizer, unpickled (it proposed this point)


@dataclass
class DirectCma:
    """The state ``sampler.sample_relative`` would read from ``study`` (module docstring)."""

    sampler: optuna.samplers.CmaEsSampler
    study: optuna.Study
    space: dict
    trans: _SearchSpaceTransform | None = None
    number: int = 0  # the next trial's number
    n_complete: int = 0
    stored: bytes | None = None  # the optimizer last stored by a complete trial
    live: Any = None  # it, unpickled once
    by_gen: dict[int, list] = field(default_factory=dict)  # generation -> (x, y) of its complete trials
    waiting: bool = False

    @classmethod
    def current(cls, study: optuna.Study, space: dict, cma: "DirectCma | None") -> "DirectCma | None":
        """The driver of ``study``'s sampler now: ``cma`` while the sampler is the one it drives
        (a restart replaces the sampler), else a new one (None: Optuna must ask)."""
        return cma if cma is not None and cma.sampler is study.sampler else cls.build(study, space)

    @classmethod
    def build(cls, study: optuna.Study, space: dict) -> "DirectCma | None":
        """The driver for ``study``'s current sampler, or None where it would not match Optuna."""
        s = study.sampler
        if (type(s) is not optuna.samplers.CmaEsSampler or not all(hasattr(s, a) for a in _SAMPLER)
                or s._with_margin or s._consider_pruned_trials
                or len(study.directions) != 1
                or not all(isinstance(d, FloatDistribution) and not d.single() for d in space.values())):
            return None
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        d = cls(s, study, dict(space), number=len(trials), n_complete=len(done),
                waiting=any(t.state == TrialState.WAITING for t in trials))
        if done:
            rel = s.infer_relative_search_space(study, done[-1])
            if list(rel) != sorted(space):  # a trial without every parameter: Optuna's path
                return None
            d.trans = _SearchSpaceTransform(rel, transform_step=True, transform_0_1=True)
        opt = s._restore_optimizer(done)  # unpickled from the trials: what the next ask asks
        if opt is not None:
            d.stored, d.live = pickle.dumps(opt), opt
        key = s._attr_key_generation
        for t in done:
            g = t.system_attrs.get(key, -1)
            if g >= 0 and t.value is not None:  # (a complete trial has its value)
                d.by_gen.setdefault(g, []).append(d._solution(t.params, t.value))
        return d

    def _solution(self, params: dict, value: float) -> tuple[np.ndarray, float]:
        assert self.trans is not None
        y = value if self.study.direction == StudyDirection.MINIMIZE else -value
        return self.trans.transform(params), y

    def ask(self) -> Proposal | None:
        """The next point, as ``sample_relative`` would draw it (None: ask Optuna instead)."""
        s = self.sampler
        if self.waiting or self.trans is None or self.n_complete < max(s._n_startup_trials, 1):
            return None
        # Optuna unpickles the stored optimizer at every trial; one unpickled copy kept between
        # tells is the same optimizer (an ask only caches the eigendecomposition of the restored
        # covariance, which every restore recomputes identically). Before the first tell Optuna
        # builds a new one each trial, drawing its seed from the sampler's stream: so do we.
        opt = self.live if self.live is not None else s._init_optimizer(self.trans, self.study.direction)
        attrs: dict[str, Any] = {}
        stored = None
        sol = self.by_gen.get(opt.generation, [])
        if len(sol) >= opt.population_size:
            if self.stored is not None:
                opt = pickle.loads(self.stored)  # the tell on a copy: a failed trial keeps the old
            opt.tell(sol[: opt.population_size])
            stored = pickle.dumps(opt)
            attrs.update(s._split_optimizer_str(stored.hex()))
        opt._rng.seed(s._cma_rng.rng.randint(1, 2**16) + self.number)
        x = opt.ask()  # this trial asks the told optimizer itself, as Optuna's does
        attrs[s._attr_key_generation] = opt.generation
        # the later trials of the generation ask what the pickle holds (it compresses the
        # covariance to one triangle, so the bits may differ from the told optimizer's)
        return Proposal(self.number, self.trans.untransform(x), attrs, int(opt.generation), stored,
                        None if stored is None else pickle.loads(stored))

    def tell(self, p: Proposal, value: float) -> int:
        """Record ``p`` with ``value`` in the study (NaN: a FAIL trial, as ``study.tell``)."""
        n = record_trial(self.study, self.space, p.params, value, system_attrs=p.system_attrs)
        assert n == p.number, (n, p.number)  # one writer: nobody else added a trial meanwhile
        self.number += 1
        if not math.isnan(float(value)):
            self.n_complete += 1
            if p.stored is not None:
                self.stored, self.live = p.stored, p.live
            stored_params = {k: float(p.params[k]) for k in self.space}
            self.by_gen.setdefault(p.generation, []).append(self._solution(stored_params, float(value)))
        return n
