"""The README's variable table is ``fireform catalog --markdown``: regenerated, never hand-edited."""

from pathlib import Path

from typer.testing import CliRunner

from fireform.cli import app
from fireform.cli.mechanisms import catalog_markdown
from fireform.drivers import catalog
from fireform.mechanisms import REGISTRY

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- catalog-table:begin (fireform catalog --markdown) -->", "<!-- catalog-table:end -->"


def test_readme_table_equals_the_command_output():
    text = README.read_text()
    assert BEGIN in text and END in text, "README lost its catalog-table markers"
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    out = CliRunner().invoke(app, ["catalog", "--markdown"])
    assert out.exit_code == 0
    assert table == out.output == catalog_markdown(), (
        "README table is stale: replace it with the output of `fireform catalog --markdown`")


def test_every_catalog_variable_and_every_mechanism_input_is_in_the_table():
    md = catalog_markdown()
    rows = {line.split("|")[1].strip().strip("`"): line for line in md.splitlines()[2:]}
    assert list(rows) == list(catalog())
    for m in REGISTRY:
        for i in m.inputs:
            assert m.id in rows[i].split("|")[6], (m.id, i)
    # a CMOR name sits on its catalog variable's row
    assert "`hurs`" in rows["rh"] and "`burntFractionAll`" in rows["burned_fraction"]
