"""The ``fireform`` command line. Each stage registers its own commands (``<stage>/cli.py``)."""

from __future__ import annotations

import importlib
import sys

import typer

from fireform.exceptions import FireformError

app = typer.Typer(
    name="fireform",
    help="Discover ecologically grounded burned-area formulas, scored as ILAMB scores them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Stages that contribute commands; each module has ``register(app)``.
_STAGES = (
    "fireform.drivers.cli",
    "fireform.drivers.synth_cli",
    "fireform.mechanisms.cli",
    "fireform.forms.cli",
    "fireform.scoring.cli",
    "fireform.fitting.cli",
    "fireform.ablation.cli",
    "fireform.loop.cli",
    "fireform.loop.deploy_cli",
)

for _mod in _STAGES:
    try:
        _m = importlib.import_module(_mod)
    except ModuleNotFoundError as e:  # a stage not built yet; anything else is a real bug
        if e.name != _mod:
            raise
        continue
    _m.register(app)


def main() -> None:
    try:
        app()
    except FireformError as e:
        # A deliberate, explained failure: print the message, not a traceback.
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
