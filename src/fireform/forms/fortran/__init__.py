"""The Fortran export: formula, derived-input modules, per-step helper, driver, Makefile, README.

:func:`chain_plan` says what a form reads (which inputs are derived by a state routine and
which raw drivers feed them); :func:`fortran_sources` returns every file as text;
:func:`write_fortran_export` writes them to a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fireform.drivers.catalog import catalog
from fireform.drivers.derived_defs import derived_def
from fireform.exceptions import UnknownNameError
from fireform.forms.fortran.common import Kind
from fireform.forms.fortran.derived import daily_count_module, derived_module, module_name
from fireform.forms.fortran.driver import PROGRAM, ChainPlan, driver_program, makefile_snippet
from fireform.forms.fortran.formula import STEP_MODULE, formula_module, step_module
from fireform.forms.fortran.readme import readme

__all__ = ["Kind", "ChainPlan", "chain_plan", "fortran_sources", "write_fortran_export", "export_fortran",
           "FortranExport",
           "formula_module", "derived_module", "daily_count_module", "step_module", "driver_program", "is_derived"]


def is_derived(name: str) -> bool:
    try:
        derived_def(name)
    except UnknownNameError:
        return False
    return True


def chain_plan(form, *, available=None, static=None) -> ChainPlan:
    """The chain of ``form``: every derived input whose raw inputs are ``available`` (all, when
    None) is computed by its state routine; everything else is read as a driver. ``static``:
    the raw inputs without a time axis (the catalog's static variables when None)."""
    cat = catalog()
    derived: list[str] = []
    raw: list[str] = []
    for v in form.inputs:
        if is_derived(v):
            need = derived_def(v).input_names
            if available is None or all(i in available for i in need):
                derived.append(v)
                raw += [i for i in need if i not in raw]
                continue
        if v not in raw:
            raw.append(v)
    if static is None:
        static = {v for v in raw if cat[v].kind == "static"}
    return ChainPlan(tuple(form.inputs), tuple(derived), tuple(v for v in raw if v not in static),
                     tuple(v for v in raw if v in static))


def fortran_sources(form, theta, *, kind: Kind | None = None, module_name_: str = "fireform_fire",
                    plan: ChainPlan | None = None) -> dict[str, str]:
    """Every file of the export, name -> text (the .f90 files in compile order)."""
    kind = kind or Kind()
    plan = plan or chain_plan(form)
    files: dict[str, str] = {}
    for n in plan.derived:
        files[f"{module_name(n)}.f90"] = derived_module(n, kind=kind)
    for n in plan.counted:
        files[f"{module_name(n)}.f90"] = daily_count_module(n, kind=kind)
    files[f"{module_name_}.f90"] = formula_module(form, theta, module_name=module_name_, kind=kind)
    files[f"{STEP_MODULE}.f90"] = step_module(kind=kind)
    modules = list(files)
    files[f"{PROGRAM}.f90"] = driver_program(plan, formula_module=module_name_)
    files["Makefile.fireform"] = makefile_snippet(modules, kind_module=kind.module)
    names = [*files, "README.md"]
    files["README.md"] = readme(form, plan, names, kind=kind, formula_module=module_name_)
    return files


def write_fortran_export(form, theta, out_dir, *, kind: Kind | None = None,
                         module_name_: str = "fireform_fire") -> list[Path]:
    """Write the whole Fortran export into ``out_dir`` (created); returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in fortran_sources(form, theta, kind=kind, module_name_=module_name_).items():
        p = out / name
        p.write_text(text)
        paths.append(p)
    return paths


@dataclass(frozen=True)
class FortranExport:
    """What :func:`export_fortran` did: the formula module as ``text`` (no ``out``), or ``paths``."""

    text: str | None
    paths: list[Path]


def export_fortran(form, theta, out=None, *, kind: str | None = None, kind_module: str | None = None,
                   module_name: str = "fireform_fire") -> FortranExport:
    """What ``--fortran`` does.

    ``out`` a folder (any path not ending in ``.f90``): the whole export is written there.
    ``out`` a ``.f90`` file: the formula module alone is written there. No ``out``: the formula
    module is returned as text.
    """
    k = Kind(kind, kind_module)
    if out is None or str(out).endswith(".f90"):
        text = formula_module(form, theta, module_name=module_name, kind=k)
        if out is None:
            return FortranExport(text, [])
        Path(out).write_text(text)
        return FortranExport(None, [Path(out)])
    return FortranExport(None, write_fortran_export(form, theta, out, kind=k, module_name_=module_name))
