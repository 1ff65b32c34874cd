"""Forms: burned fraction = scale x product of terms; kernels and exports.

- :mod:`fireform.forms.expr`: the safe expression language (own parser and AST).
- :mod:`fireform.forms.form`: :class:`Form`, canonical JSON, content hash, parameter layout.
- :mod:`fireform.forms.kernel`: :func:`compile_kernel`, fused evaluators.
- :mod:`fireform.forms.export`: Python, Fortran 90, LaTeX and JSON exports.
"""

from fireform.forms.expr import parse
from fireform.forms.form import Form, params_of
from fireform.forms.fortran import export_fortran
from fireform.forms.kernel import Kernel, agreement, compile_kernel
from fireform.forms.params_file import load_theta
from fireform.forms.terms import Bounds, MechanismTerm, NewTerm, ParamSpec, Scale, Term

__all__ = [
    "Form",
    "params_of",
    "export_fortran",
    "load_theta",
    "MechanismTerm",
    "NewTerm",
    "Scale",
    "ParamSpec",
    "Bounds",
    "Term",
    "Kernel",
    "compile_kernel",
    "agreement",
    "parse",
]
