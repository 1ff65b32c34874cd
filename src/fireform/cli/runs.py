"""``fireform demo | run | resume | report | export | runs``."""

from __future__ import annotations

from pathlib import Path

import typer

import fireform as ff
from fireform.exceptions import FireformError
from fireform.forms import export as ex
from fireform.forms import export_fortran
from fireform.loop import JOURNAL_NAME, new_run_dir
from fireform.report import build_report

__all__ = ["register"]


def _done(r: ff.RunResult) -> None:
    typer.echo(f"run folder: {r.run_dir}")
    if r.report is not None:
        typer.echo(f"report: {r.report}")


def _name_run(ctx: typer.Context, run_dir: Path) -> None:
    """Tell the error handler which run folder Ctrl-C should name in its resume hint."""
    if isinstance(ctx.obj, dict):
        ctx.obj["resume"] = str(run_dir)


def _start(ctx: typer.Context, spec: ff.Spec, run_dir: Path | None, root: Path) -> None:
    rd = run_dir or new_run_dir(spec, root)
    _name_run(ctx, rd)
    _done(ff.run(spec, run_dir=rd))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        ctx: typer.Context,
        root: Path = typer.Option(Path("runs"), "--root", help="folder for run folders"),
        iterations: int = typer.Option(None, "--iterations", help="override budget.iterations"),
    ) -> None:
        """Twin world, heuristic proposer, the demo spec (examples/twin.toml): the whole loop,
        then the report path."""
        spec = ff.demo_spec(**({} if iterations is None else {"iterations": iterations}))
        _start(ctx, spec, None, root)

    @app.command("run")
    def run_cmd(
        ctx: typer.Context,
        spec: Path = typer.Argument(..., help="experiment spec (TOML)"),
        run_dir: Path = typer.Option(None, "--run-dir", help="run folder (default runs/<name>-<time>)"),
        root: Path = typer.Option(Path("runs"), "--root"),
    ) -> None:
        """Run the loop for an experiment spec."""
        _start(ctx, ff.load_spec(spec), run_dir, root)

    @app.command("resume")
    def resume_cmd(
        ctx: typer.Context,
        run_dir: Path = typer.Argument(..., help="run folder"),
        spec: Path = typer.Option(None, "--spec", help="spec to check against the frozen one"),
    ) -> None:
        """Resume a killed or stopped run; finished fits are never redone."""
        _name_run(ctx, run_dir)
        _done(ff.resume(run_dir, spec=spec))

    @app.command("report")
    def report_cmd(
        run_dir: Path = typer.Argument(..., help="run folder"),
        single_file: bool = typer.Option(
            False, "--single-file",
            help="write one self-contained HTML file (images inlined as data URIs)"),
        model_card: list[Path] = typer.Option(
            None, "--model-card",
            help="repeatable: a ScoreCard CSV of a model's own fire output (fireform score --out), "
                 "added to the portrait plot"),
    ) -> None:
        """(Re)build the HTML report of a run from its journal."""
        path = build_report(run_dir, self_contained=single_file, model_cards=tuple(model_card or ()))
        typer.echo(f"report: {path}")

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
        if sum([python, fortran, latex]) != 1:
            raise FireformError("choose exactly one of --python, --fortran, --latex")
        form, fit = ff.open_run(run_dir).require_final()
        if fortran:
            res = export_fortran(form, fit.params, out, kind=kind, kind_module=kind_module)
            typer.echo(res.text if res.text is not None else f"wrote {', '.join(str(p) for p in res.paths)}",
                       nl=res.text is None)
            return
        text = ex.to_python(form, fit.params) if python else ex.to_latex(form, fit.params)
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
        found = sorted(p.parent for p in Path(root).glob(f"*/{JOURNAL_NAME}"))
        if not found:
            typer.echo(f"no runs under {root}")
            return
        for rd in found:
            try:
                r = ff.open_run(rd)
                dec = r.decision or {}
                typer.echo(f"{rd}\t{r.status}\t{r.spec_hash}\t{len(r.proposals)} proposals\t"
                           f"final={','.join(dec.get('final_terms', [])) or '-'}\t"
                           f"win={dec.get('win', '-')}")
                r.close()
            except FireformError as e:
                typer.echo(f"{rd}\tunreadable: {e}")

    @runs.command("show")
    def runs_show(run_dir: Path = typer.Argument(...)) -> None:
        """The run's summary lines and its results table."""
        r = ff.open_run(run_dir)
        typer.echo(f"run {run_dir}: {r.name} status {r.status} spec hash {r.spec_hash}")
        for line in r.events:
            typer.echo(line)
        df = r.results
        if not df.empty:
            typer.echo(df.drop(columns=["rationale"]).to_string(index=False))
