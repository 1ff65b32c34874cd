"""``fireform check`` and ``fireform data info``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fireform.drivers import bundle_info, check_paths, data_root
from fireform.loop import check_spec_data, load_spec

__all__ = ["register", "render_report"]

_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def render_report(report, *, console: Console | None = None, show_info: bool = True) -> None:
    """Print the findings as a rich table, errors first, then a one-line summary."""
    # Wide when piped (CI logs), so messages with numbers stay readable.
    console = console or Console(width=None if sys.stdout.isatty() else 180)
    f = report.findings.copy()
    order = {"error": 0, "warning": 1, "info": 2}
    f = f.assign(_o=f["severity"].map(order)).sort_values(["_o", "check", "variable"], kind="stable")
    if not show_info:
        f = f[f["severity"] != "info"]
    table = Table(title="fireform input checks", show_lines=False, expand=True)
    for col, kw in (("severity", {}), ("check", {}), ("variable", {}), ("region", {}),
                    ("file", {"overflow": "fold"}), ("message", {"overflow": "fold", "ratio": 4})):
        table.add_column(col, **kw)
    for r in f.itertuples():
        table.add_row(r.severity, r.check, str(r.variable), str(r.region), Path(str(r.file)).name,
                      str(r.message), style=_STYLE.get(r.severity))
    console.print(table)
    s = report.summary()
    console.print(f"{s['error']} error(s), {s['warning']} warning(s), {s['info']} info"
                  + (" [override recorded]" if report.overridden else ""))


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        paths: list[Path] = typer.Argument(..., help="netCDF/zarr files to check, or one experiment spec "
                                           "(TOML): its data checked as a run checks it"),
        target: str = typer.Option(None, "--target", help="target variable (raw or catalog name)"),
        json_path: Path = typer.Option(None, "--json", help="also write the findings as JSON here"),
        holdout: str = typer.Option(None, "--holdout", help="holdout years for the drift check, e.g. 2014-2016"),
        quiet: bool = typer.Option(False, "--quiet", help="hide info findings"),
    ) -> None:
        """Check raw input files, or a spec's data (``fireform check my.toml``: the raw files, then
        the run's input gate on its training drivers); exit code 1 when any check reports an error."""
        if len(paths) == 1 and paths[0].suffix.lower() == ".toml":
            spec = load_spec(paths[0])
            typer.echo(f"spec {paths[0]}: data source {spec.data.source!r}, training years "
                       f"{spec.split.train_years[0]}-{spec.split.train_years[1]} (the holdout is not read)")
            report = check_spec_data(spec)
        else:
            report = check_paths([str(p) for p in paths], target=target, holdout_years=holdout)
        render_report(report, show_info=not quiet)
        if json_path is not None:
            report.to_json(json_path)
        if not report.ok:
            raise typer.Exit(code=1)

    data = typer.Typer(help="The real-data bundle ($FIREFORM_DATA).", no_args_is_help=True)

    @data.command("info")
    def info() -> None:
        """List the files of the data bundle."""
        root = data_root()
        df = bundle_info(root)
        table = Table(title=f"FIREFORM_DATA = {root}")
        for c in df.columns:
            table.add_column(c)
        for r in df.itertuples(index=False):
            table.add_row(*(str(x) for x in r))
        Console().print(table)

    app.add_typer(data, name="data")
