# %% [markdown]
# # fireform quickstart
#
# A notebook-style tour of the Python API (cells in the "percent" format that Jupyter, VS Code
# and jupytext open as a notebook). Everything runs offline in about a minute: a coarse twin
# world whose burned area comes from a known form, a fit, predictions on the grid, ILAMB scores,
# a Shapley ablation, and a small run of the whole loop read back as objects.

# %%
from pathlib import Path

import fireform as ff
from fireform.twin import DEMO_TRUTH, add_truth, make_world, write_world

work = Path("quickstart_out")
work.mkdir(exist_ok=True)

# %% [markdown]
# ## Data: a twin world written as netCDF, read back like a modeller's files

# %%
world = add_truth(make_world(res=5.0, years=(2001, 2004), seed=1), ff.Form.from_json(DEMO_TRUTH), sigma=0.2)
path = write_world(work / "world.nc", world)
drivers = ff.load_drivers(path)  # every catalog variable, converted once to canonical units
print(drivers)

# %% [markdown]
# ## A form and its fit (training years only; 2004 stays sealed)

# %%
form = ff.Form.from_mechanisms(["gpp_gating", "temperature_ignition", "hyperarid_suppression"])
split = ff.Split(drivers, train_years="2001-2003", holdout_years="2004")
result = ff.fit(form, split, trials=200, sampler="cmaes", seed=0)
print(result.line())
print(result.overall_table().query("region == 'global'").to_string(index=False))

# %% [markdown]
# ## Predictions on the grid, and ILAMB scores against the observations

# %%
pred = result.form.predict(result.params, drivers)  # xarray (time, lat, lon)
pred.to_netcdf(work / "predicted.nc")
card = ff.score(drivers.ds["burned_fraction"], pred, model_name="fitted form")
print(card.table(conventions=("ilamb2", "ilamb3", "worst")).to_string())

# %% [markdown]
# ## Which mechanisms carry the skill? (an exact Shapley ablation: every subset refitted)

# %%
sh = ff.shapley(form, split.train, trials=40, executor="serial")
print(sh.values[["player", "value", "share"]].to_string(index=False))

# %% [markdown]
# ## The whole loop on a small spec, then its results as objects

# %%
spec_file = work / "small.toml"
spec_file.write_text("""
name = "quickstart"
[data]
source = "twin"
res = 5.0
years = [2001, 2004]
seed = 1
[split]
train_years = [2001, 2003]
holdout_years = [2004, 2004]
[budget]
iterations = 2
trials = 24
repeats = 2
[shapley]
trials = 12
max_players = 3
executor = "serial"
[deploy]
fortran = false
""")
res = ff.run(ff.load_spec(spec_file), root=work / "runs", report=False, echo=lambda line: None)
run = ff.open_run(res.run_dir)
print(run)
lb = run.leaderboard
print(lb[(lb.region == "global") & (lb.component == "overall")].pivot_table(
    index="model", columns=["period", "convention"], values="value").round(3).to_string())
print("final form:", ",".join(run.final_form.term_ids), "| win:", run.decision["win"])
