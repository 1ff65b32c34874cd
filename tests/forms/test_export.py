"""Exports: the Python module and the Fortran module reproduce Form.evaluate (round trips)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fireform.exceptions import ExportError
from fireform.forms import export
from fireform.forms.form import Form, NewTerm, default_registry
from fireform.mechanisms._base import Param

from .conftest import MECH_IDS

requires_gfortran = pytest.mark.skipif(shutil.which("gfortran") is None, reason="needs gfortran")

NEW = NewTerm(
    "wet_days", "1 - clip((pr - pr_lo)/(pr_hi - pr_lo))^q",
    (Param("pr_lo", 0.0, 2.0, "mm day-1", "no suppression below"),
     Param("pr_hi", 3.0, 20.0, "mm day-1", "full suppression above"),
     Param("q", 0.5, 2.0, "1", "shape")),
    "Rain wets fuel; a ramp like the RH limiter.", ("Li2012",),
)


def _theta(form, seed):
    rng = np.random.default_rng(seed)
    b = form.bounds
    return b.lo + (b.hi - b.lo) * rng.uniform(0.1, 0.9, b.lo.size)


def _import_path(path: Path, name: str):
    # our own generated module, imported by path
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _inputs(form, drivers):
    return {n: np.broadcast_to(drivers.array(n), (drivers.n_cells, drivers.n_months))
            for n in form.inputs}


@pytest.fixture(scope="module")
def form_mixed(registry):
    return Form.from_mechanisms(MECH_IDS, registry=registry, name="mixed").with_term(NEW)


def test_python_export_round_trip(tmp_path, form_mixed, drivers):
    th = _theta(form_mixed, 1)
    src = export.to_python(form_mixed, th)
    assert "import numpy as np" in src and "def burned_fraction(*," in src
    assert "import os" not in src and "eval" not in src
    p = tmp_path / "bf_mixed.py"
    p.write_text(src)
    mod = _import_path(p, "bf_mixed")
    assert mod.FORM_HASH == form_mixed.hash and mod.INPUTS == form_mixed.inputs
    got = mod.burned_fraction(**{n: drivers.array(n) for n in form_mixed.inputs})
    np.testing.assert_allclose(got, form_mixed.evaluate(th, drivers), rtol=1e-12, atol=0)


def test_python_export_of_library_baselines(tmp_path, drivers):
    from fireform.mechanisms import BASELINES

    reg = default_registry()
    for i, spec in enumerate(BASELINES.values()):
        f = Form.from_json(spec, registry=reg)
        if not all(n in drivers for n in f.inputs):
            continue
        th = f.default_theta()
        p = tmp_path / f"bf_{i}.py"
        p.write_text(export.to_python(f, th))
        got = _import_path(p, f"bf_{i}").burned_fraction(**{n: drivers.array(n) for n in f.inputs})
        np.testing.assert_allclose(got, f.evaluate(th, drivers), rtol=1e-12, atol=1e-300)


def test_fortran_source_shape(form_mixed):
    th = _theta(form_mixed, 2)
    src = export.to_fortran(form_mixed, th, module_name="ff_test")
    assert "module ff_test" in src and "end module ff_test" in src
    assert "elemental function burned_fraction(" in src
    assert "use iso_fortran_env" in src and "real(r8), parameter :: p_t_temp_t0 =" in src
    assert "! [K] half point" in src  # units in comments
    assert "! references: archibald2009" in src  # citation per term
    assert src.count("elemental function") == len(form_mixed.terms) + 1
    assert max(len(line) for line in src.splitlines()) <= 132
    with pytest.raises(ExportError, match="not a Fortran identifier"):
        export.to_fortran(form_mixed, th, module_name="bad name")
    with pytest.raises(ExportError, match="non-finite"):
        export.to_fortran(form_mixed, np.full(th.size, np.nan))


def _fortran_round_trip(tmp_path: Path, forms_thetas, drivers) -> list[tuple[np.ndarray, np.ndarray]]:
    """Compile every form's module with one generated driver program; return (fortran, python)."""
    n = drivers.n_cells * drivers.n_months
    sources, uses, body = [], [], []
    for i, (f, th) in enumerate(forms_thetas):
        mod = f"ffm{i}"
        sources.append(export.to_fortran(f, th, module_name=mod))
        uses.append(f"  use {mod}, only: bf{i} => burned_fraction")
        args = []
        for name in f.inputs:
            fn = tmp_path / f"in{i}_{name}.bin"
            np.ascontiguousarray(np.broadcast_to(drivers.array(name), (drivers.n_cells, drivers.n_months)),
                                 dtype="<f8").tofile(fn)
            body += [f"  open(newunit=u, file='{fn.name}', access='stream', form='unformatted', status='old')",
                     f"  read(u) x{len(args)}", "  close(u)"]
            args.append(f"x{len(args)}")
        body += [f"  y = bf{i}({', '.join(args)})" if args else f"  y = bf{i}()",
                 f"  open(newunit=u, file='out{i}.bin', access='stream', form='unformatted', status='replace')",
                 "  write(u) y", "  close(u)"]
    nx = max(len(f.inputs) for f, _ in forms_thetas)
    decl = [f"  real(real64), allocatable :: {', '.join(f'x{j}(:)' for j in range(nx))}, y(:)"] if nx else []
    alloc = [f"  allocate(x{j}(n))" for j in range(nx)] + ["  allocate(y(n))"]
    prog = ["program roundtrip", "  use iso_fortran_env, only: real64", *uses, "  implicit none",
            f"  integer, parameter :: n = {n}", "  integer :: u", *decl, *alloc, *body,
            "end program roundtrip", ""]
    files = []
    for i, s in enumerate(sources):
        p = tmp_path / f"ffm{i}.f90"
        p.write_text(s)
        files.append(p.name)
    (tmp_path / "main.f90").write_text("\n".join(prog))
    r = subprocess.run(["gfortran", "-O1", "-std=f2008", *files, "main.f90", "-o", "rt"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(["./rt"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-3000:]
    out = []
    for i, (f, th) in enumerate(forms_thetas):
        fort = np.fromfile(tmp_path / f"out{i}.bin", dtype="<f8").reshape(drivers.n_cells, drivers.n_months)
        out.append((fort, f.evaluate(th, drivers)))
    return out


def _close(fort, py, rtol=1e-5):
    """Relative 1e-5 wherever Python's value is not tiny (>= 1e-12 of its maximum)."""
    assert np.isfinite(fort).all()
    big = np.abs(py) >= 1e-12 * np.abs(py).max()
    rel = np.abs(fort[big] - py[big]) / np.abs(py[big])
    assert rel.max() <= rtol, rel.max()
    assert np.all(np.abs(fort[~big] - py[~big]) <= 1e-12 * np.abs(py).max())
    return big.mean()


@requires_gfortran
@pytest.mark.requires_gfortran
def test_fortran_round_trip(tmp_path, form_mixed, drivers, registry):
    """The deployment check: gfortran runs the exported module on the same inputs."""
    pairs = [(form_mixed, _theta(form_mixed, 3)), (form_mixed, form_mixed.default_theta())]
    for fort, py in _fortran_round_trip(tmp_path, pairs, drivers):
        assert _close(fort, py) > 0.3


@requires_gfortran
@pytest.mark.requires_gfortran
@pytest.mark.slow
def test_fortran_round_trip_library(tmp_path, drivers):
    """Every library mechanism (one form each) and every baseline, in one gfortran build."""
    from fireform.mechanisms import BASELINES

    reg = default_registry()
    pairs = []
    for m in reg:
        if all(n in drivers for n in m.inputs):
            f = Form.from_mechanisms([m.id], registry=reg)
            pairs.append((f, _theta(f, 5)))
    for spec in BASELINES.values():
        f = Form.from_json(spec, registry=reg)
        if all(n in drivers for n in f.inputs):
            pairs.append((f, f.default_theta()))
    assert len(pairs) >= 16
    for (f, _), (fort, py) in zip(pairs, _fortran_round_trip(tmp_path, pairs, drivers)):
        try:
            _close(fort, py)
        except AssertionError as e:
            raise AssertionError(f"{f.name}: {e}") from None


@requires_gfortran
@pytest.mark.requires_gfortran
@pytest.mark.slow
def test_fortran_round_trip_twin_world(tmp_path):
    """The deployment check on a (coarse) twin world with the library's 8-mechanism form."""
    from fireform.drivers.derived import add_derived
    from fireform.twin import make_world, world_drivers

    from .conftest import DERIVED

    d = world_drivers(make_world(res=4.0, years=(2001, 2003)))
    d = add_derived(d, [n for n in DERIVED if n not in d])
    ids = ["gpp_gating", "temperature_ignition", "hyperarid_suppression", "fuel_biomass_hump",
           "rh_limiter", "soil_wetness_limiter", "population_suppression", "cropland_suppression"]
    f = Form.from_mechanisms(ids, registry=default_registry())
    pairs = [(f, f.default_theta()), (f, _theta(f, 8))]
    for fort, py in _fortran_round_trip(tmp_path, pairs, d):
        assert _close(fort, py) > 0.05  # many cells sit at exactly 0 (RH limiter)


def test_fortran_export_would_catch_an_outside_rescale(tmp_path, form_mixed, drivers):
    """A prediction rescaled outside the form differs from the exported formula."""
    th = _theta(form_mixed, 4)
    p = tmp_path / "m.py"
    p.write_text(export.to_python(form_mixed, th))
    got = _import_path(p, "bf_m").burned_fraction(**{n: drivers.array(n) for n in form_mixed.inputs})
    rescaled = 1.1 * form_mixed.evaluate(th, drivers)
    with pytest.raises(AssertionError):
        _close(got, rescaled)


def test_latex_and_json(form_mixed):
    th = _theta(form_mixed, 6)
    tex = export.to_latex(form_mixed, th)
    assert r"\begin{equation}" in tex and r"\begin{tabular}" in tex and "t\\_temp.t0" in tex
    assert r"\begin{tabular}" not in export.to_latex(form_mixed)
    d = json.loads(export.to_json(form_mixed, th))
    assert d["hash"] == form_mixed.hash
    assert Form.from_json(d["form"], registry=form_mixed.terms[0].mechanism and None or _reg(form_mixed)).hash == form_mixed.hash
    np.testing.assert_allclose(form_mixed.theta_vector(d["theta"]), th)


def _reg(form):
    from fireform.mechanisms._base import Registry

    r = Registry()
    for t in form.terms:
        if hasattr(t, "mechanism"):
            r.add(t.mechanism)
    return r
