"""The driver program (raw monthly drivers -> derived states -> burned fraction) and a Makefile.

The same program is the deployment check's Fortran side and the land-model developer's worked
example. It reads, from the current folder:

- ``dims.txt``: ``n_cells n_months``;
- ``calendar.txt``: one line per month, in time order: ``year month days``;
- ``<input>.bin``: float64 stream files; a monthly input holds ``n_cells`` values per month,
  month after month; a static input holds ``n_cells`` values once;

and writes ``burned_fraction.bin`` (float64, ``n_cells`` values per month, month after month) and,
for each derived input, ``derived_<name>.bin`` the same way (so a check can say which input parts).
Each month it reads one record of every monthly input, updates every derived state in time order
and evaluates the elemental ``burned_fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fireform.drivers.derived_defs import DAILY_DEFS, MONTH_DAYS, derived_def
from fireform.forms.fortran.common import wrap
from fireform.forms.fortran.derived import module_name, type_name

__all__ = ["ChainPlan", "driver_program", "makefile_snippet", "PROGRAM", "OUTPUT_FILE"]

PROGRAM = "fireform_driver"
OUTPUT_FILE = "burned_fraction.bin"


@dataclass(frozen=True)
class ChainPlan:
    """What the chain reads and computes for one form.

    ``form_inputs``: the formula's arguments in order; ``derived``: those computed by a derived
    state (in the order updated); ``raw``: the files read (monthly or static).
    """

    form_inputs: tuple[str, ...]
    derived: tuple[str, ...]
    monthly: tuple[str, ...]
    static: tuple[str, ...]

    @property
    def raw(self) -> tuple[str, ...]:
        return self.monthly + self.static

    @property
    def counted(self) -> tuple[str, ...]:
        """Monthly raw inputs a land model counts from daily values (a module each; the data,
        and so the driver and the check, hold the monthly counts)."""
        return tuple(v for v in self.monthly if v in DAILY_DEFS)


def _x(v: str) -> str:
    return f"x_{v}"


def _open(unit: str, file: str, status: str) -> list[str]:
    action = "read" if status == "old" else "write"
    return [f"  open(newunit={unit}, file='{file}', access='stream', form='unformatted', &",
            f"       status='{status}', action='{action}')"]


def driver_program(plan: ChainPlan, *, formula_module: str = "fireform_fire") -> str:
    """Fortran source of the driver program for ``plan``."""
    L = [
        "! fireform driver: raw monthly drivers -> derived inputs -> burned fraction.",
        "! Reads dims.txt, calendar.txt and one float64 stream file per input (see README.md);",
        f"! writes {OUTPUT_FILE} (n_cells values per month, month after month) and each derived",
        "! input to derived_<name>.bin the same way.",
        f"program {PROGRAM}",
        f"  use {formula_module}, only: burned_fraction, r8",
    ]
    for n in plan.derived:
        L.append(f"  use {module_name(n)}, only: {type_name(n)}, {n}_init, {n}_update")
    L += ["  implicit none", "  integer :: n_cells, n_months, t, year, month, u, u_cal, u_out",
          "  real(r8) :: days"]
    if plan.derived:
        L += wrap(f"integer :: o_{', o_'.join(plan.derived)}", "  ")
    if plan.monthly:
        L += wrap(f"integer :: u_{', u_'.join(plan.monthly)}", "  ")
    for v in plan.raw:
        L.append(f"  real(r8), allocatable :: {_x(v)}(:)")
    for n in plan.derived:
        L.append(f"  type({type_name(n)}), allocatable :: st_{n}(:)")
    L += ["  real(r8), allocatable :: bf(:)", "",
          "  open(newunit=u, file='dims.txt', status='old', action='read')",
          "  read(u, *) n_cells, n_months", "  close(u)"]
    for v in plan.raw:
        L.append(f"  allocate({_x(v)}(n_cells))")
    for n in plan.derived:
        L += [f"  allocate(st_{n}(n_cells))", f"  call {n}_init(st_{n})"]
    L.append("  allocate(bf(n_cells))")
    for v in plan.static:
        L += _open("u", f"{v}.bin", "old") + [f"  read(u) {_x(v)}", "  close(u)"]
    for v in plan.monthly:
        L += _open(f"u_{v}", f"{v}.bin", "old")
    L.append("  open(newunit=u_cal, file='calendar.txt', status='old', action='read')")
    L += _open("u_out", OUTPUT_FILE, "replace")
    for n in plan.derived:
        L += _open(f"o_{n}", f"derived_{n}.bin", "replace")
    L += ["  do t = 1, n_months",
          "    read(u_cal, *) year, month, days",
          "    if (month < 1 .or. month > 12 .or. days < 28.0_r8 .or. days > 31.0_r8) then",
          "      write(*, *) 'calendar.txt: bad line', t, year, month, days",
          "      error stop 1",
          "    end if"]
    for v in plan.monthly:
        L.append(f"    read(u_{v}) {_x(v)}")
    L.append("    ! derived inputs: one monthly update of each state, in time order")
    for n in plan.derived:
        d = derived_def(n)
        args = [f"st_{n}", *(_x(i) for i in d.input_names), *([MONTH_DAYS] if d.uses_days else [])]
        L += wrap(f"call {n}_update({', '.join(args)})", "    ")
    fargs = [f"st_{v}%value" if v in plan.derived else _x(v) for v in plan.form_inputs]
    L += wrap(f"bf = burned_fraction({', '.join(fargs)})", "    ") + ["    write(u_out) bf"]
    L += [f"    write(o_{n}) st_{n}%value" for n in plan.derived]
    L += ["  end do", "  close(u_cal)", "  close(u_out)"]
    L += [f"  close(o_{n})" for n in plan.derived]
    for v in plan.monthly:
        L.append(f"  close(u_{v})")
    L += [f"end program {PROGRAM}", ""]
    return "\n".join(L)


def makefile_snippet(sources: list[str], *, kind_module: str | None = None) -> str:
    """A Makefile fragment that builds the modules (and the example driver) in dependency order."""
    objs = " ".join(s.replace(".f90", ".o") for s in sources)
    inc = ("\n# the host kind module must be compiled first: HOST_MOD_DIR holds its .mod file,\n"
           "# HOST_OBJ its object file (to link the example driver)\n"
           f"HOST_MOD_DIR ?= .\nHOST_OBJ ?= {kind_module}.o\n"
           f"FIREFORM_FFLAGS += -I$(HOST_MOD_DIR)  # the folder holding {kind_module}.mod\n"
           ) if kind_module else ""
    return f"""# fireform: Makefile snippet (include it, or copy the rules into the model's build).
FC ?= gfortran
FIREFORM_FFLAGS ?= -O2 -std=f2008
{inc}FIREFORM_OBJ = {objs}

# the modules: none depends on another, so any order works
$(FIREFORM_OBJ): %.o: %.f90
\t$(FC) $(FIREFORM_FFLAGS) -c $<

# the example driver program (reads the input files described in README.md)
{PROGRAM}: $(FIREFORM_OBJ) {PROGRAM}.f90
\t$(FC) $(FIREFORM_FFLAGS) $(HOST_OBJ) $(FIREFORM_OBJ) {PROGRAM}.f90 -o $@

fireform-clean:
\trm -f $(FIREFORM_OBJ) *.mod {PROGRAM}
"""
