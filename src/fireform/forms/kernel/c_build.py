"""Compiling generated C (cached on disk by source hash) and calling it through ctypes."""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from fireform.exceptions import FormError
from fireform.forms.form import Form
from fireform.forms.kernel.c_plan import CPlan

__all__ = ["C_FLAGS", "build_so", "compiler", "c_kernel"]

C_FLAGS = (
    "-O3", "-ffast-math", "-march=native", "-mprefer-vector-width=256", "-fPIC",
    "-fno-semantic-interposition",
)



def _cache_dir() -> Path:
    root = os.environ.get("FIREFORM_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "fireform"
    d = base / "kernels"
    d.mkdir(parents=True, exist_ok=True)
    return d


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")


def build_so(src: str) -> Path:
    cc = compiler()
    if cc is None:
        raise FormError("the C kernel backend needs a C compiler (gcc); none found on PATH")
    key = hashlib.sha256(
        "\0".join([src, cc, *C_FLAGS, platform.machine(), platform.node()]).encode()
    ).hexdigest()[:20]
    so = _cache_dir() / f"ff_{key}.so"
    if so.exists():
        return so
    with tempfile.TemporaryDirectory(prefix="ffk_") as tmp:
        c, o, lib = Path(tmp, "k.c"), Path(tmp, "k.o"), Path(tmp, "k.so")
        c.write_text(src)
        # compile with fast-math, link without it (no crtfastmath.o -> no process-wide FTZ)
        for cmd in (
            [cc, *C_FLAGS, "-c", str(c), "-o", str(o)],
            [cc, "-shared", str(o), "-o", str(lib), "-lm"],
        ):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise FormError(f"kernel compilation failed ({' '.join(cmd)}):\n{r.stderr[-2000:]}")
        tmp_target = so.with_suffix(f".{os.getpid()}.tmp")
        shutil.copy(lib, tmp_target)
        os.replace(tmp_target, so)  # atomic: concurrent builders write the same bytes
    return so


def c_kernel(form: Form, arrays: dict[str, np.ndarray], n_cells: int, n_months: int,
              plan: CPlan, src: str):
    lib = ctypes.CDLL(str(build_so(src)))
    fns = []
    for name in ("ff_kernel", "ff_kernel_safe"):
        fn = getattr(lib, name)
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_long,
                       ctypes.c_void_p]
        fns.append(fn)
    fast, safe = fns
    keep = [arrays[n] for n in form.inputs] + [plan.values[h.name] for h in plan.hoisted]
    ptrs = (ctypes.c_void_p * max(1, len(keep)))(*[a.ctypes.data for a in keep])
    b = form.bounds
    lo, hi = b.lo, b.hi

    def run(theta: np.ndarray, out: np.ndarray) -> None:
        # ff_kernel's unclamped exponentials are proven in range for theta within bounds only
        fn = fast if bool(np.all(theta >= lo) & np.all(theta <= hi)) else safe
        fn(theta.ctypes.data, ctypes.addressof(ptrs), n_cells, n_months, out.ctypes.data)

    # keep the library and input buffers alive with the kernel (mypy does not model function attributes)
    run._keep = (lib, keep, ptrs)  # type: ignore[attr-defined]
    return run

