"""``fireform form show FORM.json`` and ``fireform form export FORM.json --fortran ...``."""

from __future__ import annotations

from pathlib import Path

import typer

from fireform.exceptions import FormError
from fireform.forms import Form, export, export_fortran, load_theta

__all__ = ["register"]


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
        fortran: bool = typer.Option(False, "--fortran", help="Fortran 90: with --out DIR the whole "
                                     "export (derived-input modules, driver, Makefile, README)"),
        latex: bool = typer.Option(False, "--latex", help="LaTeX equation and parameter table"),
        as_json: bool = typer.Option(False, "--json", help="form, hash and parameter values"),
        params: Path | None = typer.Option(None, "--params", help="parameter values (JSON)"),
        module_name: str = typer.Option("fireform_fire", help="Fortran module name"),
        kind: str | None = typer.Option(None, "--kind", help="host real kind, e.g. shr_kind_r8"),
        kind_module: str | None = typer.Option(None, "--kind-module", help="its module, e.g. shr_kind_mod"),
        out: Path | None = typer.Option(None, "--out", "-o", help="write here instead of stdout "
                                        "(--fortran: a folder, or a .f90 file for the formula alone)"),
    ) -> None:
        """Export a form with parameter values (defaults when --params is not given)."""
        chosen = [n for n, f in (("python", python), ("fortran", fortran), ("latex", latex),
                                 ("json", as_json)) if f]
        if len(chosen) != 1:
            raise FormError("choose exactly one of --python, --fortran, --latex, --json")
        form = Form.load(form_file)
        theta = load_theta(form, params)
        if fortran:
            res = export_fortran(form, theta, out, kind=kind, kind_module=kind_module,
                                 module_name=module_name)
            if res.text is not None:
                typer.echo(res.text, nl=False)
            else:
                typer.echo(f"wrote {', '.join(str(p) for p in res.paths)}", err=True)
            return
        text = {
            "python": lambda: export.to_python(form, theta),
            "latex": lambda: export.to_latex(form, theta),
            "json": lambda: export.to_json(form, theta),
        }[chosen[0]]()
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text)
            typer.echo(f"wrote {out}", err=True)

    app.add_typer(form_app, name="form")
