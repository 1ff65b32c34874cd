"""Kernels equal Form.evaluate under the tolerance rule of fireform.forms.kernel."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fireform.exceptions import FormError
from fireform.forms.form import Form, NewTerm, default_registry
from fireform.forms.kernel import REL_TOL, agreement, compile_kernel, generate_c
from fireform.mechanisms._base import Param

from .conftest import MECH_IDS


def _thetas(form, n, seed=0):
    rng = np.random.default_rng(seed)
    b = form.bounds
    u = rng.uniform(size=(n, b.lo.size))
    with np.errstate(all="ignore"):  # np.where evaluates log/exp on the linear ones too
        lo, hi = np.where(b.log, np.log(b.lo), b.lo), np.where(b.log, np.log(b.hi), b.hi)
        v = lo + (hi - lo) * u
        return [np.where(b.log, np.exp(t), t) for t in v]


@pytest.fixture(scope="module")
def form8(registry):
    return Form.from_mechanisms(MECH_IDS, registry=registry, name="eight")


@pytest.mark.parametrize("backend", ["c", "jax", "numpy"])
def test_kernel_equals_reference(form8, drivers, backend):
    k = compile_kernel(form8, drivers, backend=backend)
    assert k.backend == backend and set(k.static_terms) == {"t_crop", "t_pop"}
    for th in [form8.default_theta(), *_thetas(form8, 4)]:
        out = k(th)
        assert out.dtype == np.float32 and out.shape == (drivers.n_cells, drivers.n_months)
        a = agreement(out, form8.evaluate(th, drivers), scale=th[0])
        assert a.ok, a
        assert a.n_compared > 0.3 * out.size


def test_agreement_rule_detects_errors(form8, drivers):
    th = form8.default_theta()
    ref = form8.evaluate(th, drivers)
    out = ref.astype(np.float32)
    assert agreement(out, ref, scale=th[0]).ok
    bad = out.copy()
    i = np.unravel_index(np.argmax(ref), ref.shape)
    bad[i] *= 1 + 5 * REL_TOL
    assert not agreement(bad, ref, scale=th[0]).ok
    nan = out.copy()
    nan[0, 0] = np.nan
    assert not agreement(nan, ref, scale=th[0]).ok


def test_kernel_with_new_term_and_theta_dict(registry, drivers):
    t = NewTerm(
        "ign", "clip(sigmoid(k*(tas - t0))^p + 0.1*tanh(popd/50), 0, 1)*max(lightning, 0.5)/(1 + lightning)",
        (Param("k", 0.05, 1.0, "K-1", ""), Param("t0", 270.0, 300.0, "K", ""), Param("p", 0.5, 3.0, "1", "")),
        "test", ("x",),
    )
    f = Form.from_mechanisms(["t_pop", "t_soil"], registry=registry).with_term(t)
    k = compile_kernel(f, drivers, backend="c")
    for th in _thetas(f, 3, seed=3):
        a = agreement(k(f.theta_dict(th)), f.evaluate(th, drivers), scale=th[0])
        assert a.ok, a


def test_extreme_parameters_stay_finite_and_agree(form8, drivers):
    b = form8.bounds
    for th in (b.lo.copy(), b.hi.copy()):
        out = compile_kernel(form8, drivers, backend="c")(th)
        a = agreement(out, form8.evaluate(th, drivers), scale=th[0])
        assert np.isfinite(out).all() and a.ok, a


def test_cache_and_out_buffer(form8, drivers, registry):
    k1 = compile_kernel(form8, drivers)
    k2 = compile_kernel(Form.from_mechanisms(list(reversed(MECH_IDS)), registry=registry), drivers)
    assert k1 is k2  # same form hash and drivers fingerprint
    th = form8.default_theta()
    buf = np.empty((drivers.n_cells, drivers.n_months), dtype=np.float32)
    assert k1(th, out=buf) is buf
    np.testing.assert_array_equal(buf, k1(th))
    with pytest.raises(FormError, match="C-contiguous float32"):
        k1(th, out=np.empty((2, 2), dtype=np.float32))
    with pytest.raises(FormError, match="layout"):
        k1(th[:-1])
    with pytest.raises(FormError, match="unknown kernel backend"):
        compile_kernel(form8, drivers, backend="fortran")


def test_static_terms_are_hoisted_out_of_the_month_loop(form8, drivers):
    static = {n: drivers.array(n).shape[1] == 1 for n in form8.inputs}
    src = generate_c(form8, static).split("void ff_kernel_safe")[0]
    outer, inner = src.split("for (long j = 0")
    assert "v_popd" in outer and "v_cropland" in outer
    assert "v_popd" not in inner and "v_cropland" not in inner
    assert "v_tas" in inner


def test_every_library_mechanism_kernel_matches_its_function(drivers):
    """The C kernel is generated from each mechanism's equation, the reference from its
    function: agreement checks the library's equations against its code as well."""
    reg = default_registry()
    ids = [m.id for m in reg if all(n in drivers for n in m.inputs)]
    assert len(ids) >= 16
    for mid in ids:
        f = Form.from_mechanisms([mid], registry=reg)
        k = compile_kernel(f, drivers, backend="c")
        for th in [f.default_theta(), *_thetas(f, 2, seed=7)]:
            a = agreement(k(th), f.evaluate(th, drivers), scale=th[0])
            assert a.ok, (mid, a)


def test_library_eight_mechanism_form(drivers):
    reg = default_registry()
    ids = ["gpp_gating", "temperature_ignition", "hyperarid_suppression", "fuel_biomass_hump",
           "rh_limiter", "soil_wetness_limiter", "population_suppression", "cropland_suppression"]
    ids = [i for i in ids if i in reg]
    f = Form.from_mechanisms(ids, registry=reg)
    for backend in ("c", "jax"):
        k = compile_kernel(f, drivers, backend=backend)
        for th in _thetas(f, 3, seed=11):
            a = agreement(k(th), f.evaluate(th, drivers), scale=th[0])
            assert a.ok, (backend, a)


# -- theta-free hoisting and range-proven exponentials ---------------------------------------
def _plan(form, drivers):
    from fireform.forms.kernel import packed_inputs as _packed_inputs, plan_c

    arrays, _, _ = _packed_inputs(form, drivers)
    static = {n: a.shape[1] == 1 for n, a in arrays.items()}
    return plan_c(form, static, arrays), static


def test_input_only_log_is_hoisted_out_of_the_kernel(drivers):
    """The fuel hump's log(max(agb, 0.01) / agb_opt) becomes h - log(agb_opt): the log of the
    data is computed once by numpy, and the month loop holds no log of an input."""
    f = Form.from_mechanisms(["fuel_biomass_hump", "temperature_ignition"], registry=default_registry())
    plan, static = _plan(f, drivers)
    assert [ex_text(h.expr) for h in plan.hoisted] == ["log(max(v_agb, 0.01))"]
    np.testing.assert_allclose(plan.values["h_0"], np.log(np.maximum(drivers.array("agb"), 0.01)))
    loop = generate_c(f, static, plan=plan).split("void ff_kernel_safe")[0].split("for (long j = 0")[1]
    assert "ff_log(v_agb" not in loop and "h_0" in loop
    k = compile_kernel(f, drivers, backend="c")
    for th in _thetas(f, 4, seed=5):
        a = agreement(k(th), f.evaluate(th, drivers), scale=th[0])
        assert a.ok, a


def ex_text(e):
    from fireform.forms import expr as ex

    return ex.to_text(e)


def test_log_of_zero_input_hoists_the_floored_value_and_the_kernel_still_agrees(drivers):
    """log(agb) with agb = 0 in the data: log's one semantics (argument floored at 1e-300, as
    the kernel's ff_log) makes the hoisted value finite, and the kernel agrees with the reference."""
    import dataclasses

    t = NewTerm("lg", "exp(-0.01 * log(agb / a0)^2)", (Param("a0", 0.5, 5.0, "kg m-2", ""),),
                "test", ("x",))
    f = Form(name="lg", terms=(t,))
    plan, _ = _plan(f, drivers)
    assert [ex_text(h.expr) for h in plan.hoisted] == ["log(v_agb)"]  # agb > 0 in the tiny world
    ds = drivers.ds.copy(deep=True)
    ds["agb"].values[:5] = 0.0
    zeroed = dataclasses.replace(drivers, ds=ds)
    assert (zeroed.array("agb") == 0).any()
    plan0, _ = _plan(f, zeroed)
    assert [ex_text(h.expr) for h in plan0.hoisted] == ["log(v_agb)"]
    assert np.isfinite(plan0.values["h_0"]).all()
    k = compile_kernel(f, zeroed, backend="c")
    for th in _thetas(f, 3, seed=2):
        a = agreement(k(th), f.evaluate(th, zeroed), scale=th[0])
        assert a.ok, a


def test_unclamped_exponentials_only_where_bounds_and_data_prove_the_range(form8, drivers):
    plan, static = _plan(form8, drivers)
    src = generate_c(form8, static, plan=plan)
    fast, safe = src.split("void ff_kernel_safe")
    assert re.search(r"ff_exp2s?u\(", fast.split("for (long j = 0")[1])
    assert not re.search(r"ff_exp2s?u\(", safe.split("for (long j = 0")[1])  # clamped everywhere


def test_short_exp_polynomial_only_within_the_error_budget(registry, drivers):
    """Top-level exponentials get the one-FMA-shorter polynomial (error <= EXP_SHORT_ERR each)
    only while their count keeps the sum within EXP_TOP_BUDGET; both versions agree."""
    from fireform.forms.kernel import EXP_SHORT_ERR, EXP_TOP_BUDGET

    n_max = int(EXP_TOP_BUDGET / EXP_SHORT_ERR + 1e-9)
    ps = (Param("k", 0.05, 1.0, "K-1", ""), Param("t0", 250.0, 300.0, "K", ""))
    terms = [NewTerm(f"s{i}", f"sigmoid(k * (tas - t0 - {i}))", ps, "test", ("x",))
             for i in range(n_max + 1)]
    for n, short in ((n_max, True), (n_max + 1, False)):
        f = Form(name=f"sig{n}", terms=tuple(terms[:n]))
        plan, static = _plan(f, drivers)
        loop = generate_c(f, static, plan=plan).split("void ff_kernel_safe")[0].split("for (long j = 0")[1]
        assert ("ff_exp2su(" in loop) is short and ("ff_exp2u(" in loop) is not short
        k = compile_kernel(f, drivers, backend="c")
        for th in _thetas(f, 3, seed=n):
            a = agreement(k(th), f.evaluate(th, drivers), scale=th[0])
            assert a.ok, a


def test_theta_outside_bounds_takes_the_clamped_path(registry, drivers):
    """ff_kernel's unclamped exp is exact only for theta within bounds; outside them (a user's
    own theta, not the optimizer's) the kernel switches to ff_kernel_safe and stays right."""
    f = Form.from_mechanisms(["temperature_ignition"], registry=default_registry())
    k = compile_kernel(f, drivers, backend="c")
    th = f.default_theta()
    i = f.param_names.index("temperature_ignition.k_t")
    th[i] = 50.0  # bounds [0.05, 1]: 50 * (tas - t0) reaches +-2000, beyond 2^1023
    out = k(th)
    ref = f.evaluate(th, drivers)
    assert np.isfinite(out).all()
    a = agreement(out, ref, scale=th[0])
    assert a.ok, a


def test_log_of_zero_has_one_semantics_in_kernel_and_evaluate():
    from fireform.forms.terms import NewTerm
    from fireform.mechanisms import Param

    term = NewTerm(name="logz", expression="exp(a * log(pr))", rationale="log of a zero input, on purpose",
                   references=("test",), params=(Param("a", 0.5, 2.0, "1", "exponent"),))
    form = Form(terms=(term,))
    d = {"pr": np.array([[0.0, 1e-320, 2.0]], dtype=np.float32)}
    theta = form.default_theta()
    ref = form.evaluate(theta, d)
    assert np.all(np.isfinite(ref))  # no -inf * a, no NaN
    out = compile_kernel(form, d, backend="c")(theta)
    assert agreement(out, ref, scale=theta[0]).ok
