"""``fireform form show FORM.json`` and ``fireform form export FORM.json --fortran ...``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fireform.exceptions import FormError
from fireform.forms import Form, export

__all__ = ["register"]


def _theta(form, params: Path | None):
    """Parameter values from a JSON file ({"name": value} or {"theta": {...}}); defaults else."""
    if params is None:
        return form.default_theta()
    if not params.is_file():
        raise FormError(f"parameter file {str(params)!r} does not exist")
    try:
        d = json.loads(params.read_text())
    except json.JSONDecodeError as e:
        raise FormError(f"{params}: not valid JSON: {e}") from None
    if isinstance(d, dict) and isinstance(d.get("theta"), dict):
        d = d["theta"]
    if not isinstance(d, dict):
        raise FormError(f"{params}: expected an object of parameter values by name")
    return form.theta_vector(d)


def register(app: typer.Typer) -> None:
    form_app = typer.Typer(help="Inspect and export burned-area forms.", no_args_is_help=True)

    @form_app.command("show")
    def show(
        form_file: Path = typer.Argument(..., help="form JSON"),
        latex: bool = typer.Option(False, "--latex", help="print LaTeX instead of text"),
    ) -> None:
        """Print a form: terms, equations, parameter layout with bounds, hash."""
        form = Form.load(form_file)
        if latex:
            typer.echo(form.latex())
            return
        typer.echo(form.text())
        typer.echo("")
        typer.echo(f"parameters ({len(form.params)}), in vector order:")
        for i, p in enumerate(form.params):
            log = " log" if p.log else ""
            typer.echo(f"  {i:2d} {p.name:32s} [{p.lo:g}, {p.hi:g}]{log}  {p.units}")
        typer.echo(f"inputs: {', '.join(form.inputs)}")

    @form_app.command("export")
    def export_cmd(
        form_file: Path = typer.Argument(..., help="form JSON"),
        python: bool = typer.Option(False, "--python", help="numpy-only Python module"),
        fortran: bool = typer.Option(False, "--fortran", help="Fortran 90 module"),
        latex: bool = typer.Option(False, "--latex", help="LaTeX equation and parameter table"),
        as_json: bool = typer.Option(False, "--json", help="form, hash and parameter values"),
        params: Path | None = typer.Option(None, "--params", help="parameter values (JSON)"),
        module_name: str = typer.Option("fireform_fire", help="Fortran module name"),
        out: Path | None = typer.Option(None, "--out", "-o", help="write here instead of stdout"),
    ) -> None:
        """Export a form with parameter values (defaults when --params is not given)."""
        chosen = [n for n, f in (("python", python), ("fortran", fortran), ("latex", latex),
                                 ("json", as_json)) if f]
        if len(chosen) != 1:
            raise FormError("choose exactly one of --python, --fortran, --latex, --json")
        form = Form.load(form_file)
        theta = _theta(form, params)
        text = {
            "python": lambda: export.to_python(form, theta),
            "fortran": lambda: export.to_fortran(form, theta, module_name=module_name),
            "latex": lambda: export.to_latex(form, theta),
            "json": lambda: export.to_json(form, theta),
        }[chosen[0]]()
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text)
            typer.echo(f"wrote {out}", err=True)

    app.add_typer(form_app, name="form")
