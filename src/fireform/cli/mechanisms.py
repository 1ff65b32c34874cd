"""``fireform mechanisms list`` and ``fireform mechanisms show ID``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from fireform.drivers import DERIVED, catalog
from fireform.exceptions import UnknownNameError
from fireform.mechanisms import REGIMES, REGISTRY, bib_entries, get

__all__ = ["register", "list_table", "show_text", "catalog_markdown"]


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def list_table(*, regime: str | None = None) -> Table:
    """A rich table: id, regime, inputs, parameter count, references (one row per mechanism)."""
    t = Table(title="fireform mechanisms", show_lines=False)
    for col in ("id", "regime", "tag", "inputs", "params", "references"):
        t.add_column(col, overflow="fold")
    rows = sorted(REGISTRY, key=lambda m: (m.regime, m.id))
    for m in rows:
        if regime is not None and m.regime != regime:
            continue
        t.add_row(m.id, m.regime, m.tag, ", ".join(m.inputs), str(len(m.params)),
                  ", ".join(m.references))
    return t


def catalog_markdown() -> str:
    """The catalog as a Markdown table (the README's "Bring your own data" table is this text):
    name, the names it goes by in files (CMOR/TRENDY names first), CF standard names, canonical
    units, role, and the mechanisms that use it, directly or through a derived driver."""
    users: dict[str, list[str]] = {}
    for m in sorted(REGISTRY, key=lambda m: m.id):
        for i in m.inputs:
            users.setdefault(i, []).append(m.id)
            for raw in (DERIVED[i].inputs if i in DERIVED else ()):
                users.setdefault(raw, []).append(f"{m.id} (via {i})")
    lines = ["| catalog name | names in files (CMOR/TRENDY first) | CF standard names | units | role | "
             "mechanisms that use it |", "|---|---|---|---|---|---|"]
    for name, v in catalog().items():
        used = list(dict.fromkeys(users.get(name, [])))
        lines.append(f"| `{name}` | {', '.join(f'`{a}`' for a in v.aliases) or '-'} | "
                     f"{', '.join(v.standard_names) or '-'} | {v.units} | {v.role} | {', '.join(used) or '-'} |")
    return "\n".join(lines) + "\n"


def show_text(mech_id: str, console: Console) -> None:
    """Print one mechanism: name, inputs with units, equation, parameter bounds, shape, notes."""
    m = get(mech_id)  # UnknownNameError lists the valid ids
    cat = catalog()
    console.print(f"[bold]{m.id}[/bold] - {m.name}")
    console.print(f"regime: {m.regime}   verification tag: [{m.tag}]", markup=False)
    console.print("inputs: " + ", ".join(f"{n} [{cat[n].units}]" for n in m.inputs), markup=False)
    console.print("equation:", markup=False)
    console.print(f"  f = {m.equation}", markup=False, soft_wrap=True)
    pt = Table(title="parameters")
    for col in ("name", "lo", "hi", "units", "log", "default", "description"):
        pt.add_column(col, overflow="fold")
    for p in m.params:
        pt.add_row(p.name, _fmt(p.lo), _fmt(p.hi), p.units, "yes" if p.log else "no",
                   _fmt(p.default), p.description)
    console.print(pt)
    shape = [f"{n}: {'increasing' if s > 0 else 'decreasing'}" for n, s in m.shape.monotone.items()]
    shape += [f"{n}: hump" for n in m.shape.hump]
    console.print("shape: bounded in [0, 1]; " + "; ".join(shape), markup=False)
    bib = bib_entries()
    console.print("references:", markup=False)
    for key in m.references:
        e = bib.get(key, {})
        parts = (e.get("author", ""), e.get("year", ""), e.get("title", ""))
        desc = ", ".join(x for x in parts if x)
        console.print(f"  {key}: {desc}", markup=False, soft_wrap=True)
    console.print("notes:", markup=False)
    console.print(f"  {m.notes}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="The mechanism library: cited, bounded terms of burned-area forms.",
                      no_args_is_help=True)

    @sub.command("list")
    def list_cmd(
        regime: str | None = typer.Option(None, help="only this regime"),
    ) -> None:
        """List mechanisms: id, regime, inputs, parameter count and references."""
        if regime is not None and regime not in REGIMES:
            raise UnknownNameError(
                f"unknown regime {regime!r}; valid regimes: {', '.join(REGIMES)}"
            )
        Console(width=200).print(list_table(regime=regime))

    @sub.command("show")
    def show_cmd(mech_id: str = typer.Argument(..., metavar="ID", help="mechanism id")) -> None:
        """Show one mechanism: equation, parameter bounds, shape, references and notes."""
        show_text(mech_id, Console(width=120))

    app.add_typer(sub, name="mechanisms")

    @app.command("catalog")
    def catalog_cmd(
        markdown: bool = typer.Option(False, "--markdown", help="a Markdown table (the README's)"),
    ) -> None:
        """The variable catalog: names in files (CMOR/TRENDY aliases), units, the mechanisms using each."""
        if markdown:
            typer.echo(catalog_markdown(), nl=False)
            return
        t = Table(title="fireform variable catalog")
        for col in ("name", "names in files", "units", "role", "description"):
            t.add_column(col, overflow="fold")
        for name, v in catalog().items():
            t.add_row(name, ", ".join(v.aliases), v.units, v.role, v.description)
        Console(width=200).print(t)
