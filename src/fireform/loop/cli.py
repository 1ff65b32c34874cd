"""``fireform demo | run | resume | report | export | runs``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fireform.exceptions import FireformError

__all__ = ["register", "DEMO_SPEC"]

# The default demo (mirrored by examples/twin.toml; a test keeps them equal).
DEMO_SPEC = {
    "name": "twin-demo",
    "description": "Twin world with a known truth (GPP gating x temperature ignition x hyperarid "
                   "suppression); start from ED2's stock fire; the heuristic proposer.",
    "seed": 0,
    "data": {"source": "twin", "res": 3.0, "years": [2001, 2012], "seed": 0, "truth": "demo",
             "noise": 0.2},
    "split": {"train_years": [2001, 2008], "holdout_years": [2009, 2012]},
    "objective": {"convention": "ilamb2", "region": "global"},
    "baseline": {"form": "ed2_stock"},
    "win": {"margin": 0.0, "conventions": "all"},
    "budget": {"iterations": 10, "trials": 800, "repeats": 3, "sampler": "cmaes", "wall_minutes": 8.0},
    "proposer": {"name": "heuristic"},
    "shapley": {"enabled": True, "trials": 150, "prune_share": 0.05, "max_players": 8},
    "deploy": {"fortran": True, "rel_tol": 1e-5},
}


def _fail(e: FireformError) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        root: Path = typer.Option(Path("runs"), "--root", help="folder for run folders"),
        iterations: int = typer.Option(None, "--iterations", help="override budget.iterations"),
    ) -> None:
        """Twin world, heuristic proposer, default spec: the whole loop, then the report path."""
        from fireform.loop.run import run
        from fireform.loop.spec import parse_spec

        d = json.loads(json.dumps(DEMO_SPEC))
        if iterations is not None:
            d["budget"]["iterations"] = iterations
        try:
            r = run(parse_spec(d, source="fireform demo"), root=root)
        except FireformError as e:
            _fail(e)
        _done(r)

    @app.command("run")
    def run_cmd(
        spec: Path = typer.Argument(..., help="experiment spec (TOML)"),
        run_dir: Path = typer.Option(None, "--run-dir", help="run folder (default runs/<name>-<time>)"),
        root: Path = typer.Option(Path("runs"), "--root"),
    ) -> None:
        """Run the loop for an experiment spec."""
        from fireform.loop.run import run

        try:
            r = run(spec, run_dir=run_dir, root=root)
        except FireformError as e:
            _fail(e)
        _done(r)

    @app.command("resume")
    def resume_cmd(
        run_dir: Path = typer.Argument(..., help="run folder"),
        spec: Path = typer.Option(None, "--spec", help="spec to check against the frozen one"),
    ) -> None:
        """Resume a killed or stopped run; finished fits are never redone."""
        from fireform.loop.run import resume

        try:
            r = resume(run_dir, spec=spec)
        except FireformError as e:
            _fail(e)
        _done(r)

    @app.command("report")
    def report_cmd(run_dir: Path = typer.Argument(..., help="run folder")) -> None:
        """(Re)build the HTML report of a run from its journal."""
        from fireform.report.html import build_report

        try:
            p = build_report(run_dir)
        except FireformError as e:
            _fail(e)
        typer.echo(f"report: {p}")

    @app.command("export")
    def export_cmd(
        run_dir: Path = typer.Argument(..., help="run folder"),
        python: bool = typer.Option(False, "--python"),
        fortran: bool = typer.Option(False, "--fortran"),
        latex: bool = typer.Option(False, "--latex"),
        out: Path = typer.Option(None, "--out", help="file to write (default: stdout); with --fortran "
                                 "a folder for the whole export, or a .f90 file for the formula alone"),
        kind: str = typer.Option(None, "--kind", help="Fortran: host real kind, e.g. shr_kind_r8"),
        kind_module: str = typer.Option(None, "--kind-module", help="Fortran: its module, e.g. shr_kind_mod"),
    ) -> None:
        """Export the run's final form with its fitted parameters."""
        from fireform.forms import export as ex
        from fireform.loop.journal import Journal

        if sum([python, fortran, latex]) != 1:
            _fail(FireformError("choose exactly one of --python, --fortran, --latex"))
        try:
            j = Journal(run_dir)
            fid = j.get_state("final_fit")
            if fid is None:
                raise FireformError(f"run {run_dir} has no final form yet (status {j.run()['status']})")
            rec = j.fit_by_id(int(fid))
            form = j.form(rec.form_hash)
        except FireformError as e:
            _fail(e)
        if fortran:
            from fireform.forms.fortran import export_fortran

            try:
                res = export_fortran(form, rec.theta, out, kind=kind, kind_module=kind_module)
            except FireformError as e:
                _fail(e)
            if res.text is not None:
                typer.echo(res.text, nl=False)
            else:
                typer.echo(f"wrote {', '.join(str(p) for p in res.paths)}")
            return
        text = ex.to_python(form, rec.theta) if python else ex.to_latex(form, rec.theta)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text)
            typer.echo(f"wrote {out}")

    runs = typer.Typer(help="List and inspect runs.", no_args_is_help=True)
    app.add_typer(runs, name="runs")

    @runs.command("list")
    def runs_list(root: Path = typer.Option(Path("runs"), "--root")) -> None:
        """One line per run folder: name, status, spec hash, iterations, final form."""
        from fireform.loop.journal import JOURNAL_NAME, Journal

        found = sorted(p.parent for p in Path(root).glob(f"*/{JOURNAL_NAME}"))
        if not found:
            typer.echo(f"no runs under {root}")
            return
        for rd in found:
            try:
                j = Journal(rd)
                r = j.run()
                props = j.proposals()
                dec = j.get_state("decision") or {}
                typer.echo(f"{rd}\t{r['status']}\t{r['spec_hash']}\t{len(props)} proposals\t"
                           f"final={','.join(dec.get('final_terms', [])) or '-'}\t"
                           f"win={dec.get('win', '-')}")
                j.close()
            except FireformError as e:
                typer.echo(f"{rd}\tunreadable: {e}")

    @runs.command("show")
    def runs_show(run_dir: Path = typer.Argument(...)) -> None:
        """The run's summary lines and its results table."""
        from fireform.loop.journal import Journal

        try:
            j = Journal(run_dir)
        except FireformError as e:
            _fail(e)
        r = j.run()
        typer.echo(f"run {run_dir}: {r['name']} status {r['status']} spec hash {r['spec_hash']}")
        for line in j.events().line:
            typer.echo(line)
        df = j.results_frame()
        if not df.empty:
            typer.echo(df.drop(columns=["rationale"]).to_string(index=False))


def _done(r) -> None:
    typer.echo(f"run folder: {r.run_dir}")
    if r.report is not None:
        typer.echo(f"report: {r.report}")
