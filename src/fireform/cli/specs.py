"""``fireform spec new``: a complete experiment spec from model output and observations, saying
what it identified, what it derives, and which mechanisms the inputs allow."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from fireform.cli.common import parse_mapping
from fireform.drivers import derivations, open_file, parse_years
from fireform.drivers.identify import identify
from fireform.drivers.load import data_vars
from fireform.exceptions import FireformError
from fireform.forms import Form
from fireform.loop import (
    MODEL_FIRE,
    expand_paths,
    parse_spec,
    unavailable_mechanisms,
)
from fireform.loop.data import load_run_drivers
from fireform.loop.spec import files_spec_toml
from fireform.mechanisms import BASELINES, REGISTRY, baseline

__all__ = ["register"]


def _rel(pattern: str, folder: Path) -> str:
    """``pattern`` relative to ``folder`` (the spec's folder), so the spec and data move together."""
    return os.path.relpath(Path(pattern).resolve() if not any(c in pattern for c in "*?[")
                           else Path(os.path.abspath(pattern)), folder.resolve())


def _identified(files: list[str], mapping: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(file, variable, catalog name or '', how) for every gridded variable of ``files``."""
    out = []
    for f in files:
        ds = open_file(f)
        try:
            for v in data_vars(ds):
                i = identify(ds, v, f, mapping or None)
                out.append((f, v, i.name or "", i.how))
        finally:
            ds.close()
    return out


def register(app: typer.Typer) -> None:
    spec = typer.Typer(help="Experiment specs: write one from your files.", no_args_is_help=True)

    @spec.command("new")
    def new(
        model: list[str] = typer.Option(..., "--model", help="model output: a folder, a glob or files "
                                        "(repeatable); CMOR/TRENDY names, one variable per file is fine"),
        obs: list[str] = typer.Option(..., "--obs", help="observed burned area (netCDF; any grid)"),
        train: str = typer.Option(..., "--train", help="training years, YYYY-YYYY"),
        holdout: str = typer.Option(..., "--holdout", help="sealed holdout years, YYYY-YYYY"),
        out: Path = typer.Option(..., "--out", help="the spec file to write (TOML)"),
        name: str = typer.Option(None, "--name", help="run name (default: the file's stem)"),
        baseline_name: str = typer.Option(None, "--baseline", help=" | ".join(BASELINES) + " (default: the "
                                          "first these inputs can feed, ed2_stock first)"),
        mapping: list[str] = typer.Option(None, "--mapping", help="NAME=VAR, repeatable; adds to what "
                                          "is identified"),
        target: str = typer.Option(None, "--target", help="the observations' burned-area variable "
                                   "(default: identified)"),
        force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
    ) -> None:
        """Write a complete, valid spec for model output (--model) and observations (--obs): every
        section with comments. Prints the catalog variables found in which file, what is derived,
        and the mechanisms these inputs allow and those they cannot run (with the missing input)."""
        if out.exists() and not force:
            raise FireformError(f"{out} exists; not overwritten (give --force to replace it)")
        maps = parse_mapping(mapping)
        tr, ho = parse_years(train, what="--train"), parse_years(holdout, what="--holdout")
        model_files = expand_paths(model, what="--model")
        obs_files = expand_paths(obs, what="--obs")
        folder = out.parent if str(out.parent) else Path(".")
        rel_model = [_rel(m, folder) for m in model]
        rel_obs = [_rel(o, folder) for o in obs]
        stem = "".join(c if c.isalnum() or c in "_.-" else "-" for c in (name or out.stem)).strip("-.") or "run"
        def toml(base: str) -> str:
            return files_spec_toml(name=stem[:64], model=rel_model, obs=rel_obs, train=tr, holdout=ho, mapping=maps,
                                   obs_var=target, baseline=base)

        spec = parse_spec(toml(baseline_name or "ed2_stock"), source=str(out), base_dir=folder)
        drivers, addable = load_run_drivers(spec)  # the run's own loader: what it finds, the run finds
        made = derivations(drivers)
        sources = {src: r.variable for r in made.itertuples() for src in str(r.derived_from).split()}
        typer.echo(f"model files ({len(model_files)}):")
        for f, v, cat, how in _identified(model_files, maps):
            if cat == "burned_fraction":
                typer.echo(f"  {'burned_fraction':<16} <- {Path(f).name}: {v} ({how}): the model's own burned "
                           "area, scored as 'your model today' (not fitted)")
            elif cat and cat in drivers:
                typer.echo(f"  {cat:<16} <- {Path(f).name}: {v} ({how})")
            elif cat in sources:
                typer.echo(f"  {cat:<16} <- {Path(f).name}: {v} ({how}): model output, {sources[cat]} is derived "
                           "from it")
            else:
                typer.echo(f"  {'-':<16}    {Path(f).name}: {v} not used"
                           + (f" (identified as {cat!r} by {how})" if cat else " (not identified)"))
        typer.echo(f"observations ({len(obs_files)}):")
        for f, v, cat, how in _identified(obs_files, {"burned_fraction": target} if target else {}):
            if cat == "burned_fraction":
                typer.echo(f"  {'burned_fraction':<16} <- {Path(f).name}: {v} ({how}): the target")
        for r in made.itertuples():
            typer.echo(f"derived: {r.variable} from {' + '.join(str(r.derived_from).split())}: {r.formula}"
                       + (f" (assumes: {r.assumption})" if r.assumption else ""))
        typer.echo("derived by the library at fit time: " + (", ".join(addable) or "nothing"))
        have = [v for v in drivers.variables if v not in (MODEL_FIRE, "burned_fraction")] + list(addable)
        missing = unavailable_mechanisms(have)
        ok = [m.id for m in REGISTRY if m.id not in missing]
        typer.echo(f"mechanisms these inputs allow ({len(ok)} of {len(REGISTRY)}): {', '.join(ok)}")
        if missing:
            typer.echo(f"cannot run ({len(missing)}): " + "; ".join(f"{k} (needs {', '.join(v)})"
                                                                  for k, v in sorted(missing.items())))
        need = {b: [i for i in Form.from_json(baseline(b)).inputs if i not in have] for b in BASELINES}
        chosen = baseline_name or next((b for b in ("ed2_stock", *BASELINES) if not need[b]), "ed2_stock")
        if need[chosen]:
            typer.secho(f"warning: baseline {chosen!r} needs {', '.join(need[chosen])}, not in these inputs; "
                        "choose another in [baseline] (a baseline name, or mechanisms = [...])",
                        fg=typer.colors.YELLOW, err=True)
        elif chosen != (baseline_name or "ed2_stock"):
            typer.echo(f"baseline: {chosen} (ed2_stock needs {', '.join(need['ed2_stock'])}, not in these inputs)")
        text = toml(chosen)
        years = sorted(int(y) for y in drivers.years)
        typer.echo(f"months shared by model and observations: {drivers.time[0]:%Y-%m}..{drivers.time[-1]:%Y-%m}; "
                   f"{drivers.n_cells} cells")
        for label, (a, b) in (("--train", tr), ("--holdout", ho)):
            if a < years[0] or b > years[-1]:
                raise FireformError(f"{label} {a}-{b} is outside the years model and observations share "
                                    f"({years[0]}-{years[-1]}); nothing written")
        out.write_text(text)
        typer.echo(f"wrote {out}; next: fireform check {out}; fireform run {out}")

    app.add_typer(spec, name="spec")
