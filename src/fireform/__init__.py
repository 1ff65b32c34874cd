"""fireform: discover ecologically grounded burned-area formulas for land models.

The public API (everything else is implementation)::

    import fireform as ff
    drivers = ff.load_drivers(["gpp.nc", "tas.nc", "burntArea.nc"])   # -> ff.Drivers
    form = ff.Form.from_mechanisms(["gpp_gating", "temperature_ignition"])
    result = ff.fit(form, drivers, trials=800)                        # -> ff.FitResult
    result.form.predict(result.params, drivers).to_netcdf("bf.nc")   # on the grid
    card = ff.score(obs_dataarray, model_dataarray)                   # -> ff.ScoreCard (tidy)
    sh = ff.shapley(form, drivers)                                    # -> Shapley tables
    res = ff.run(ff.load_spec("examples/twin.toml"))                  # the whole loop
    run = ff.open_run(res.run_dir)                                    # -> ff.Run (results)
"""

from fireform import mechanisms
from fireform.ablation import ShapleyResult, shapley
from fireform.api import resume, run
from fireform.drivers import Drivers, catalog, load_drivers
from fireform.exceptions import FireformError
from fireform.fitting import FitResult, Objective, Split, fit
from fireform.forms import Form
from fireform.loop import Run, RunResult, Spec, demo_spec, load_spec, open_run
from fireform.scoring import Benchmark, ScoreCard, score
from fireform.version import __version__

__all__ = [
    "load_drivers", "Drivers", "catalog", "mechanisms", "Form", "fit", "FitResult", "Objective",
    "Split", "Benchmark", "score", "ScoreCard", "shapley", "ShapleyResult", "Spec", "load_spec",
    "demo_spec", "run", "resume", "RunResult", "open_run", "Run", "FireformError", "__version__",
]
