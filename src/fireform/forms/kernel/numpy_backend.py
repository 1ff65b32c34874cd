"""The numpy backend: ``Form.evaluate`` (the float64 reference) cast to float32."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fireform.forms.form import Form

__all__ = ["numpy_kernel"]


def numpy_kernel(form: Form, arrays: dict[str, np.ndarray], n_cells: int, n_months: int):
    def run(theta: np.ndarray, out: np.ndarray) -> None:
        out[...] = form.evaluate(theta, arrays_with_shape)

    class _A(dict):
        # the arrays, answering what evaluate reads of a Drivers
        n_cells: int
        n_months: int
        array: Callable[[str], np.ndarray]

    arrays_with_shape = _A(arrays)
    arrays_with_shape.n_cells, arrays_with_shape.n_months = n_cells, n_months
    arrays_with_shape.array = arrays_with_shape.__getitem__
    return run, "numpy"


