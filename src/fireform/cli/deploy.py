"""``fireform deploy-check FORM.json --params P.json --data FILES... | --data pantanal``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from fireform.forms import Form, load_theta
from fireform.loop import deploy_summary, deployment_check, load_check_drivers

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("deploy-check")
    def deploy_check_cmd(
        form_file: Path = typer.Argument(..., help="form JSON"),
        more: list[str] = typer.Argument(None, help="more data files (after --data FILE)"),
        params: Path = typer.Option(None, "--params", help="parameter values (JSON); defaults else"),
        data: list[str] = typer.Option(..., "--data", help="'pantanal' (the bundle) or data files"),
        rel_tol: float = typer.Option(1e-5, "--rel-tol"),
        workdir: Path = typer.Option(None, "--workdir", help="keep the build and files here"),
        as_json: bool = typer.Option(False, "--json", help="print the full result as JSON"),
    ) -> None:
        """Full-chain deployment check: raw drivers -> Fortran derived states -> formula, vs Python."""
        form = Form.load(form_file)
        theta = load_theta(form, params)
        drivers = load_check_drivers([*data, *(more or [])])
        with tempfile.TemporaryDirectory(prefix="fireform-deploy-") as tmp:
            r = deployment_check(form, theta, drivers, rel_tol=rel_tol, workdir=workdir or tmp)
        typer.echo(json.dumps(r, indent=2) if as_json else deploy_summary(r))
        if not r.get("ok"):
            raise typer.Exit(1)
