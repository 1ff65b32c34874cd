"""Executors: a real Dask scheduler and two workers as separate processes on loopback, one
killed midway; a local process pool with a killed worker; both must give the serial result."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fireform.ablation import DaskExecutor, LocalExecutor, shapley
from tests.ablation.conftest import TRIALS, same_values

BIN = Path(sys.executable).parent


def _wait(pred, timeout, what):
    t = time.time()
    while time.time() - t < timeout:
        if pred():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` + two ``dask worker`` processes (no nanny: a killed worker stays dead)."""
    sf = tmp_path / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False", PYTHONPATH=os.getcwd())
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sf)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        _wait(lambda: sf.is_file() and sf.stat().st_size > 0 and "address" in sf.read_text(), 30, "scheduler")
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", "--scheduler-file", str(sf), "--host", "127.0.0.1",
                 "--nthreads", "1", "--no-nanny", "--no-dashboard", "--memory-limit", "0",
                 "--name", f"w{i}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        yield sf, procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_workers_killed_midway_same_result(dask_cluster, world, form3, serial_result):
    sf, procs = dask_cluster
    assert json.loads(sf.read_text())["address"].startswith("tcp://127.0.0.1:")
    exe = DaskExecutor(scheduler_file=str(sf))
    try:
        _wait(lambda: len(exe.client.scheduler_info()["workers"]) == 2, 40, "two workers")
        pids = exe.client.run(os.getpid)  # worker address -> pid
        assert set(pids.values()) == {p.pid for p in procs[1:]}
        killed = {}

        def progress(k, label, res):
            if k == 2 and not killed:  # level 1 is running on both workers now
                proc = exe.client.processing()
                # the worst case: the worker holding the scattered drivers, with a fit in flight
                holders = exe.client.who_has([exe._data])[exe._data.key]
                victim = max(proc, key=lambda a: (a in holders, len(proc[a]), a))
                killed["busy"] = len(proc[victim])
                killed["pid"] = pids[victim]
                os.kill(pids[victim], signal.SIGKILL)

        r = shapley(form3, world, trials=TRIALS, patience=None, executor=exe, progress=progress)
    finally:
        exe.close()
    assert killed and killed["busy"] >= 1  # the dead worker had a fit in flight
    assert procs[1].poll() is not None or procs[2].poll() is not None
    assert r.n_fits == 8 and r.fits_run == 8  # every fit returned once; none lost
    assert exe.restarts >= 1 or killed["busy"] >= 1
    assert same_values(r, serial_result)
    assert np.array_equal(r.values.value.to_numpy(), serial_result.values.value.to_numpy())
    assert np.array_equal(r.interactions.value.to_numpy(), serial_result.interactions.value.to_numpy())


@pytest.mark.slow  # two pool start-ups (spawn + import + JIT in each worker): ~40 s on a busy box
def test_local_pool_worker_killed_same_result(world, form3, serial_result, tmp_path):
    exe = LocalExecutor(2)
    killed = []

    def progress(k, label, res):
        if k == 2 and not killed:
            pid = exe.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        r = shapley(form3, world, trials=TRIALS, patience=None, executor=exe, progress=progress,
                    cache=tmp_path)
    finally:
        exe.close()
    assert killed and exe.restarts >= 1
    assert same_values(r, serial_result)
    assert np.array_equal(r.values.value.to_numpy(), serial_result.values.value.to_numpy())
    assert len(list((tmp_path / "fits").glob("*.json"))) == 8


def test_local_pool_whose_workers_cannot_start_fails_clearly(tmp_path):
    # a script calling shapley() at module level, without the __main__ guard: each spawned
    # worker re-runs it and dies; the pool must stop retrying and say why, not hang
    import subprocess
    import sys
    import textwrap

    from fireform.ablation.executors import MAX_FRUITLESS_RESTARTS

    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        from fireform.ablation import shapley
        from fireform.forms import Form
        from fireform.testing import tiny_drivers
        shapley(Form.from_mechanisms(["cropland_suppression"]), tiny_drivers(years=(2001, 2002)),
                trials=5, executor="local", workers=2)
    """))
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert p.returncode != 0
    assert f"broke {MAX_FRUITLESS_RESTARTS + 1} times in a row" in p.stderr and "__main__" in p.stderr, p.stderr[-2000:]
