"""references.bib parses, holds full entries, and covers every citation of the library."""

from __future__ import annotations

import re

import pytest

import fireform.mechanisms as mechs
from fireform.exceptions import CorruptFileError
from fireform.mechanisms.references import bib_entries, parse_bib

PUBLISHED = {
    "Pausas2013", "vanderWerf2008", "Archibald2009", "KrawchukMoritz2011", "Li2012", "Li2013",
    "Li2014", "Thonicke2001", "Thonicke2010", "Knorr2014", "Mangeon2016", "Kelley2019",
    "Forkel2017", "Andela2017", "Keetch1968", "Nesterov1949", "Lieth1975", "Kuhn-Regnier2021",
    "Longo2019", "vanNes2018", "AroraBoer2005",
}
VENUE = {"article": "journal", "book": "publisher", "incollection": "booktitle",
         "techreport": "institution", "misc": "howpublished"}


def test_required_references_are_present():
    assert PUBLISHED <= set(bib_entries())


@pytest.mark.parametrize("key", sorted(bib_entries()))
def test_entry_is_complete(key):
    e = bib_entries()[key]
    assert e["ENTRYTYPE"] in VENUE, key
    assert e.get("title") and e.get("author"), key
    assert e.get(VENUE[e["ENTRYTYPE"]]), f"{key}: no {VENUE[e['ENTRYTYPE']]}"
    if e["ENTRYTYPE"] != "misc":
        assert re.fullmatch(r"\d{4}", e.get("year", "")), key
    if "doi" in e:
        assert re.fullmatch(r"10\.\d{4,9}/\S+", e["doi"]), e["doi"]
    if e["ENTRYTYPE"] == "article" and key in PUBLISHED:
        assert e.get("volume") and e.get("pages") and e.get("doi"), key


def test_every_citation_in_the_library_resolves():
    keys = mechs.bib_keys()
    cited = {r for m in mechs.REGISTRY for r in m.references}
    cited |= {r for b in mechs.BASELINES.values() for r in b["references"]}
    assert cited <= keys, sorted(cited - keys)


def test_parser_reads_fields_and_rejects_duplicates_and_unbalanced_braces():
    text = "@article{A1, title = {X {Y} z}, year = 2001, journal = \"J\"}\n@misc{B, note={n}}"
    e = parse_bib(text)
    assert e["A1"] == {"ENTRYTYPE": "article", "title": "X {Y} z", "year": "2001", "journal": "J"}
    assert e["B"]["note"] == "n"
    with pytest.raises(CorruptFileError, match="duplicate"):
        parse_bib(text + "\n@misc{B, note={m}}")
    with pytest.raises(CorruptFileError, match="unbalanced"):
        parse_bib("@misc{C, note={open}")
