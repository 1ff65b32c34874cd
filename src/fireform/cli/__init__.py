"""The ``fireform`` command line: one module per command group, each with ``register(app)``,
built on the library's public names; one error handler for every command (:class:`_Group`)."""

from __future__ import annotations

import errno

import typer
from typer.core import TyperGroup

from fireform.cli import ablation, data, deploy, fitting, forms, mechanisms, runs, scoring, specs, synth
from fireform.cli.common import spread_multi
from fireform.exceptions import FireformError

__all__ = ["app", "main"]


class _Group(TyperGroup):
    """Every command's failures end here: a deliberate FireformError prints its message (exit 2),
    Ctrl-C says how to go on (exit 130), a full disk or a read-only folder is named as such
    (exit 2); anything else is a bug and keeps its traceback."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, spread_multi(args))  # --data a.nc b.nc: several after one flag

    def invoke(self, ctx):
        if ctx.obj is None:
            ctx.obj = {}  # shared with every command's context: a run names itself here
        try:
            return super().invoke(ctx)
        except FireformError as e:
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            again = ctx.obj.get("resume") if isinstance(ctx.obj, dict) else None
            typer.secho("interrupted" + (f"; resume with: fireform resume {again}" if again else ""),
                        fg=typer.colors.YELLOW, err=True)
            raise typer.Exit(130) from None
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT):
                typer.secho(f"error: {e.strerror}: {e.filename or ''}".rstrip(": "),
                            fg=typer.colors.RED, err=True)
                raise typer.Exit(2) from None
            raise


app = typer.Typer(
    name="fireform",
    cls=_Group,
    help="Discover ecologically grounded burned-area formulas, scored as ILAMB scores them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for _group in (data, synth, mechanisms, forms, scoring, fitting, ablation, runs, specs, deploy):
    _group.register(app)


def main() -> None:
    app(prog_name="fireform")


if __name__ == "__main__":
    main()
