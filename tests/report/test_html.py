"""The report: built only from the journal (and the fields recomputed from its spec), every
section rendered in headless Chromium, one self-contained file on request."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fireform.report.html import PUBLISHED, SECTIONS, SINGLE_FILE, build_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# section -> what it must hold: an image, a table, or either
VIEWS = {
    "portrait": "img", "taylor": "img", "maps": "img", "totals": "img", "residuals": "img",
    "response": "img", "biomes": "table", "gfed": "table", "params": "table", "formula": "img",
    "regions": "table", "leaderboard": "table", "shapley": "img", "convergence": "img", "decision": "img",
}


def _chromium(args, tmp_path, url):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _section(text: str, sid: str, quote: str = "'") -> str:
    m = re.search(rf"<section id={quote}{sid}{quote}><h2>[^<]+</h2>(.*?)</section>", text, re.S)
    assert m, f"no section {sid}"
    return m.group(1)


def _rendered_ok(tmp_path, url) -> str:
    dom = _chromium(["--dump-dom"], tmp_path, url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.search(r'data-broken-images="0"', dom.stdout), "some images did not load"
    errors = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln and ("error" in ln.lower() or "Uncaught" in ln)]
    assert not errors, errors
    return dom.stdout


@pytest.fixture(scope="module")
def single_file(finished_run, tmp_path_factory):
    """The report rebuilt, as one self-contained file, from a copy of the journal alone."""
    res, _ = finished_run
    dst = tmp_path_factory.mktemp("copy")
    for p in res.run_dir.glob("journal.sqlite*"):
        shutil.copy(p, dst / p.name)
    return build_report(dst, self_contained=True)


def test_report_is_rebuilt_from_the_journal_alone(single_file):
    text = single_file.read_text()
    assert single_file.name == SINGLE_FILE
    for s in SECTIONS:
        assert f"<section id='{s}'>" in text
    assert "published figures on other" in text and PUBLISHED.model.iloc[0].split()[0] in text
    assert re.search(r"spec hash <code class=hash>[0-9a-f]{16}</code>", text)
    assert "holdout years 2004 were read for this report through the split&#x27;s seal" in text


def test_single_file_has_no_external_image(single_file):
    text = single_file.read_text()
    srcs = re.findall(r"<img[^>]*\ssrc=['\"]([^'\"]+)", text)
    assert len(srcs) >= 12
    assert all(s.startswith("data:image/png;base64,") for s in srcs), [s[:40] for s in srcs]
    assert not re.search(r"url\((?!data:)", text)


@pytest.mark.parametrize("sid", sorted(VIEWS))
def test_each_view_holds_its_figure_or_table(finished_run, sid):
    res, _ = finished_run
    body = _section(res.report.read_text(), sid)
    kind = VIEWS[sid]
    if kind == "img":
        imgs = re.findall(r"<figure><img src='([^']+)'[^>]*><figcaption>([^<]+)</figcaption>", body)
        assert imgs, f"section {sid} has no captioned figure"
        for src, cap in imgs:
            assert (res.report.parent / src).stat().st_size > 1000
            assert len(cap) > 40, f"{sid}: caption too short to say what to look for: {cap!r}"
    else:
        assert "<table" in body and "<td" in body, f"section {sid} has no table"


def test_formula_spec_and_citations_are_readable(finished_run):
    res, _ = finished_run
    text = res.report.read_text()
    formula = _section(text, "formula")
    assert "- -" not in formula and "+ -" not in formula
    pre = re.findall(r"<pre[^>]*>(.*?)</pre>", formula, flags=re.S)
    numbers = re.findall(r"\d+\.\d+(?:e[-+]?\d+)?", " ".join(pre))
    digits = [len(n.split("e")[0].replace(".", "").lstrip("0")) for n in numbers]
    assert numbers and max(digits) <= 4, f"formula printed with more than 4 significant digits: {numbers}"
    assert "@article" not in formula and "<ul class=refs><li" in formula
    spec = _section(text, "spec")
    assert 'source = &quot;twin&quot;' in spec and "paths = []" not in spec and "mapping = {}" not in spec
    assert "design/" not in text and "ILAMB_SCORING.md" not in text and "ARCHITECTURE.md" not in text
    assert "AT BOUND" in _section(text, "params") or "flag" in _section(text, "params")


def test_decision_and_params_show_intervals_and_reasons(finished_run):
    res, _ = finished_run
    text = res.report.read_text()
    dec = _section(text, "decision")
    assert "not decidable (" in dec and "IAV needs &gt;= 2 whole years; the period has 1" in dec
    assert re.search(r"<td>-?\d\.\d{4} \[-?\d\.\d{4}, -?\d\.\d{4}\]</td>", dec)  # point [lo, hi]
    assert "lower end of the 90% interval" in dec and "replicates" in dec
    params = _section(text, "params")
    assert "<th>seed range</th>" in params and "<th>bootstrap range</th>" in params
    assert re.search(r"<td>[-\d.e+]+ \.\. [-\d.e+]+</td>", params)


@pytest.mark.requires_chromium
def test_report_renders_in_headless_chromium(finished_run, tmp_path):
    res, _ = finished_run
    url = res.report.resolve().as_uri()
    html = _rendered_ok(tmp_path, url)
    for s in SECTIONS:
        assert len(_section(html, s, '"').strip()) > 20, f"section {s} is empty"
    assert int(re.search(r'data-images="(\d+)"', html).group(1)) >= 12
    shot = tmp_path / "report.png"
    r = _chromium([f"--screenshot={shot}", "--window-size=1400,4000"], tmp_path, url)
    assert r.returncode == 0 and shot.stat().st_size > 50_000


@pytest.mark.requires_chromium
def test_single_file_renders_alone(single_file, tmp_path):
    alone = tmp_path / "alone" / "report.html"  # no PNG beside it: every image must be inline
    alone.parent.mkdir()
    shutil.copy(single_file, alone)
    html = _rendered_ok(tmp_path, alone.resolve().as_uri())
    assert int(re.search(r'data-images="(\d+)"', html).group(1)) >= 12


def test_cli_report_single_file(finished_run, monkeypatch):
    from typer.testing import CliRunner

    from fireform.cli import app
    from fireform.report import html as report_html

    calls = []
    monkeypatch.setattr(report_html, "build_report", lambda *a, **k: calls.append((a, k)) or Path("x.html"))
    monkeypatch.setattr("fireform.cli.runs.build_report", report_html.build_report)
    res, _ = finished_run
    r = CliRunner().invoke(app, ["report", str(res.run_dir), "--single-file"])
    assert r.exit_code == 0, r.output
    assert calls and calls[0][1]["self_contained"] is True


def test_portrait_takes_a_models_own_fire_output(finished_run, tmp_path):
    from fireform.loop import open_run
    from fireform.report.views import portrait

    res, _ = finished_run
    run = open_run(res.run_dir)
    try:
        card = run.leaderboard
        card = card[card.model.str.startswith("baseline")].assign(
            model="ED2 own fire", period=card.period.map({"train": "2001-2003", "holdout": "2004"}))
        card.to_csv(tmp_path / "card.csv", index=False)
        extra = portrait.read_model_card(tmp_path / "card.csv", {"train": (2001, 2003), "holdout": (2004, 2004)})
        df = portrait.portrait_scores(run, extra)
        assert set(df.model) == {"baseline", "final", "ED2 own fire"}
        assert set(df[df.model == "ED2 own fire"].period) == {"train", "holdout"}
        html = portrait.portrait(run, tmp_path, extra)
        assert "ED2 own fire" in html and (tmp_path / "portrait.png").stat().st_size > 1000
    finally:
        run.close()
