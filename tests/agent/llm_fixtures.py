"""Shared pieces of the LLM proposer tests: an agent context built from the real catalog, a
free loopback port, and llama-cpp-python's OpenAI-compatible server on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from fireform.agent.context import AgentContext, program_text
from fireform.forms.form import default_registry

RATIONALE = "Dry-season fuel and ignition limit fire in savannas (Archibald2009)."


def make_context(drivers=None, *, incumbent=("temperature_ignition", "rh_limiter"), tried=(),
                 rejected=(), iteration=1) -> AgentContext:
    """A context with the real library catalog (availability from ``drivers``)."""
    reg = default_registry()
    catalog = [{"id": m.id, "name": m.name, "regime": m.regime, "inputs": list(m.inputs),
                "n_params": len(m.params), "equation": m.equation, "references": list(m.references),
                "available": drivers is None or all(i in drivers for i in m.inputs)} for m in reg]
    vec = {"bias": 0.19, "rmse": 0.43, "seasonal": 0.75, "spatial": 0.01, "iav": 0.44}
    inc = {"form_hash": "0123456789ab", "terms": list(incumbent), "n_params": 5, "objective": 0.359,
           "vector": vec, "overall": {"ilamb2": 0.359, "worst": 0.01}, "theta": {"scale": 0.003}}
    return AgentContext(
        iteration=iteration, program=program_text(),
        objective={"convention": "ilamb2", "region": "global", "noise": 0.01,
                   "train_years": [2001, 2003], "budget_left": {"iterations": 3}},
        catalog=catalog, incumbent=inc, top=[inc],
        diagnostics=[{"region": "global", "n_cells": 80, "bias_relative": -0.9, "phase_shift_months": 1.9,
                      "spatial_corr": 0.03, "suspect": "too little fire: a fuel, ignition or dryness "
                      "limit is too strong or a driver is missing"}],
        screen=[{"action": "add", "remove": "", "add": "fuel_ramp", "form_hash": "aa", "n_params": 7,
                 "objective": 0.41, "gain": 0.05},
                {"action": "swap", "remove": "rh_limiter", "add": "vpd_flammability", "form_hash": "bb",
                 "n_params": 4, "objective": 0.40, "gain": 0.04}],
        shapley={"values": [{"player": "temperature_ignition", "value": 0.2, "share": 0.8},
                            {"player": "rh_limiter", "value": 0.05, "share": 0.2}],
                 "interactions": [{"a": "temperature_ignition", "b": "rh_limiter", "value": -0.01}]},
        rejected=list(rejected), tried=list(tried))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(model: str, *, api_key: str, timeout: float = 180.0):
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (stopped on exit)."""
    port = free_port()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--n_threads_batch", "2",
           "--chat_format", "gemma", "--api_key", api_key, "--verbose", "false"]
    log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                req = urllib.request.Request(f"{base}/models", headers={"Authorization": f"Bearer {api_key}"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("llama server did not answer within the timeout")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def tiny_spec(proposer: str, settings: dict | None = None, **budget) -> dict:
    """A tiny twin-world run: 5-degree grid, 3 years, few trials, no Shapley, no Fortran."""
    b = {"iterations": 1, "trials": 8, "repeats": 2, "wall_minutes": 10.0}
    b.update(budget)
    return {"name": f"llm-{proposer}", "seed": 0,
            "data": {"source": "twin", "res": 5.0, "years": [2001, 2003], "seed": 0, "truth": "demo",
                     "noise": 0.2},
            "split": {"train_years": [2001, 2002], "holdout_years": [2003, 2003]},
            "baseline": {"form": "ed2_stock"}, "budget": b,
            "proposer": {"name": proposer, "settings": dict(settings or {})},
            "shapley": {"enabled": False}, "deploy": {"fortran": False}}
