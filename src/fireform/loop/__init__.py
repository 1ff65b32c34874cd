"""The loop: an experiment spec frozen before a run, the run's steps over a journal, and a
finished run's results as objects (:func:`open_run`)."""

from fireform.loop.data import (
    COMPARISON_LABEL,
    MODEL_FIRE,
    check_spec_data,
    expand_paths,
    identified_mapping,
    load_model_obs,
)
from fireform.loop.deploy import deploy_summary, deployment_check, load_check_drivers
from fireform.loop.journal import JOURNAL_NAME, Journal
from fireform.loop.results import Run, open_run
from fireform.loop.run import RunResult, new_run_dir, resume, run, unavailable_mechanisms
from fireform.loop.spec import Spec, demo_spec, load_spec, parse_spec, spec_diff

__all__ = ["Spec", "load_spec", "parse_spec", "demo_spec", "spec_diff", "run", "resume", "RunResult",
           "new_run_dir", "Journal", "JOURNAL_NAME", "Run", "open_run",
           "deployment_check", "deploy_summary", "load_check_drivers", "expand_paths", "identified_mapping",
           "load_model_obs", "MODEL_FIRE", "COMPARISON_LABEL", "unavailable_mechanisms", "check_spec_data"]
