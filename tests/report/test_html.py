"""The report: built only from the journal, every section rendered in headless Chromium."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fireform.report.html import PUBLISHED, SECTIONS, build_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _chromium(args, tmp_path, url):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_report_is_rebuilt_from_the_journal_alone(finished_run, tmp_path):
    res, _ = finished_run
    # copy only the journal (and its WAL) into an empty folder: the report needs nothing else
    dst = tmp_path / "copy"
    dst.mkdir()
    for p in res.run_dir.glob("journal.sqlite*"):
        shutil.copy(p, dst / p.name)
    path = build_report(dst)
    text = path.read_text()
    for s in SECTIONS:
        assert f"<section id='{s}'>" in text
    assert "published figures on other" in text and PUBLISHED.model.iloc[0].split()[0] in text
    assert re.search(r"spec hash <code class=hash>[0-9a-f]{16}</code>", text)
    imgs = re.findall(r"<img src='([^']+)'", text)
    assert len(imgs) >= 6 and all((path.parent / i).stat().st_size > 1000 for i in imgs)


@pytest.mark.requires_chromium
def test_report_renders_in_headless_chromium(finished_run, tmp_path):
    res, _ = finished_run
    url = res.report.resolve().as_uri()
    dom = _chromium(["--dump-dom"], tmp_path, url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for s in SECTIONS:
        m = re.search(rf"<section id=\"{s}\"><h2>[^<]+</h2>(.*?)</section>", html, re.S)
        assert m and len(m.group(1).strip()) > 20, f"section {s} is empty"
    n_img = int(re.search(r'data-images="(\d+)"', html).group(1))
    assert n_img >= 6
    assert re.search(r'data-broken-images="0"', html), "some images did not load"
    console_errors = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln and ("error" in ln.lower() or "Uncaught" in ln)]
    assert not console_errors, console_errors
    shot = tmp_path / "report.png"
    r = _chromium([f"--screenshot={shot}", "--window-size=1400,4000"], tmp_path, url)
    assert r.returncode == 0 and shot.stat().st_size > 50_000
