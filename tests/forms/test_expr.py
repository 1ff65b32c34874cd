"""The safe expression language: parsing, printing, evaluation, validation, rejections."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireform.exceptions import ExpressionError, FormError
from fireform.forms import expr as ex

INPUTS = {"tas", "rh", "fuel", "popd"}


# -- parsing and structure ------------------------------------------------------------------
def test_precedence_and_associativity():
    e = ex.parse("1 + 2 * 3 ^ 2")
    assert e == ex.BinOp("+", ex.Num(1), ex.BinOp("*", ex.Num(2), ex.BinOp("^", ex.Num(3), ex.Num(2))))
    assert ex.evaluate(ex.parse("2^3^2"), {}) == 2.0 ** 9  # right-associative
    assert ex.evaluate(ex.parse("-2^2"), {}) == -4.0  # unary minus binds looser than ^
    assert ex.evaluate(ex.parse("8 / 4 / 2"), {}) == 1.0  # left-associative
    assert ex.evaluate(ex.parse("10 - 4 - 3"), {}) == 3.0
    assert ex.evaluate(ex.parse("2^-1"), {}) == 0.5


def test_nodes_are_frozen_and_hashable():
    e = ex.parse("sigmoid(k*(tas - t0))")
    assert hash(e) == hash(ex.parse("sigmoid( k * ( tas-t0 ) )"))
    with pytest.raises(AttributeError):
        e.func = "exp"  # type: ignore[misc]


def test_names():
    assert ex.names(ex.parse("min(a, tas) + exp(-b*rh)")) == {"a", "tas", "b", "rh"}


@pytest.mark.parametrize(
    "text",
    [
        "-x^2", "2^3^2", "a - (b - c)", "a/(b*c)", "(a + b)*c", "-(a + b)*c", "x^(-1)",
        "(-2)^2", "1e-05*x", "clip((fuel - lo)/(hi - lo))", "min(a, b, c)",
        "clip(x, 0.1, 0.9)", "sigmoid(-k*(x - 3))", "abs(x)^0.5", "a/b/c", "a - b + c",
    ],
)
def test_text_round_trip(text):
    e = ex.parse(text)
    assert ex.parse(ex.to_text(e)) == e
    assert ex.to_text(ex.parse(ex.to_text(e))) == ex.to_text(e)


# -- evaluation -------------------------------------------------------------------------------
def test_evaluate_functions_by_hand():
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    env = {"x": x}
    np.testing.assert_allclose(ex.evaluate(ex.parse("sigmoid(x)"), env), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(ex.evaluate(ex.parse("clip(x)"), env), [0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(ex.evaluate(ex.parse("clip(x, -1, 2)"), env), [-1.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(ex.evaluate(ex.parse("max(x, 0.2, -5)"), env), [0.2, 0.2, 0.5, 3.0])
    np.testing.assert_allclose(ex.evaluate(ex.parse("min(x, 1)"), env), [-2.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(ex.evaluate(ex.parse("abs(x)"), env), [2.0, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(ex.evaluate(ex.parse("tanh(x)"), env), np.tanh(x))
    np.testing.assert_allclose(ex.evaluate(ex.parse("sqrt(abs(x))*log(2)"), env),
                               np.sqrt(np.abs(x)) * math.log(2))


def test_evaluate_with_jax_matches_numpy():
    jnp = pytest.importorskip("jax.numpy")
    e = ex.parse("sigmoid(k*(tas - t0))*clip((rh - 20)/60)")
    env = {"tas": np.linspace(260, 310, 7), "rh": np.linspace(0, 100, 7), "k": 0.3, "t0": 285.0}
    np.testing.assert_allclose(np.asarray(ex.evaluate(e, env, xp=jnp)), ex.evaluate(e, env), rtol=1e-6)


def test_missing_value_is_reported():
    with pytest.raises(ExpressionError, match="'q'"):
        ex.evaluate(ex.parse("q + 1"), {})


# -- rejections (each named in the issue) ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("x.y", "attribute access"),
        ("tas.__class__", "attribute access"),
        ("__class__", "dunder"),
        ("__import__(os)", "dunder"),
        ("eval(x)", "outside the allowed functions"),
        ("open(x)", "outside the allowed functions"),
        ("sin(x)", "outside the allowed functions"),
        ("x[0]", "subscripts"),
        ("'abc'", "strings"),
        ('"abc" + x', "strings"),
        ("lambda", "keyword 'lambda'"),
        ("lambda x: x", "keyword 'lambda'"),
        ("x if y else z", "keyword 'if'"),
        ("import", "keyword 'import'"),
        ("1e400", "not finite"),
        ("x**2", "use '\\^'"),
        ("exp", "without arguments"),
        ("clip(x, 1)", "1 or 3 arguments"),
        ("min(x)", "two or more"),
        ("exp(x, y)", "takes 1"),
        ("(x + 1", r"expected '\)'"),
        ("x y", "after a complete expression"),
        ("x +", "end of input"),
        ("", "empty"),
        ("x = 1", "assignment"),
        ("x @ y", "'@'"),
        ("2x", "after a complete expression"),
    ],
)
def test_syntax_rejections(text, match):
    with pytest.raises(ExpressionError, match=match):
        ex.parse(text)


def test_rejection_names_position_and_token():
    with pytest.raises(ExpressionError) as e:
        ex.parse("sigmoid(k * (tas - t0)) * os.system")
    msg = str(e.value)
    assert "position 28" in msg and "attribute access" in msg and "os.system" in msg


def test_expression_error_is_a_form_error():
    with pytest.raises(FormError):
        ex.parse("x.y")


def test_overlong_and_too_deep():
    with pytest.raises(ExpressionError, match="2001 characters"):
        ex.parse("x" + " " * 2000)
    deep = "(" * 70 + "x" + ")" * 70
    with pytest.raises(ExpressionError, match="deeper than 64"):
        ex.parse(deep)
    ex.parse("(" * 30 + "x" + ")" * 30)  # modest nesting is fine
    chain = "-" * 80 + "x"
    with pytest.raises(ExpressionError, match="deeper than 64"):
        ex.parse(chain)


def test_non_string_rejected():
    with pytest.raises(ExpressionError, match="must be a string"):
        ex.parse(3)  # type: ignore[arg-type]


# -- validation ---------------------------------------------------------------------------------
def test_validate_accepts_good_expression():
    e = ex.parse("sigmoid(k*(tas - t0))*popd^p")
    ex.validate(e, inputs=INPUTS, params={"k": (0.05, 1.0), "t0": (270, 300), "p": (0.1, 1.0)})


def test_unknown_name_lists_inputs_and_params():
    with pytest.raises(ExpressionError, match=r"unknown name 'gdp'.*catalog input") as e:
        ex.validate(ex.parse("exp(-k*gdp)"), inputs=INPUTS, params={"k": (0.0, 1.0)})
    assert "tas" in str(e.value) and "'k'" not in str(e.value).split("neither")[0]


def test_undeclared_parameter():
    with pytest.raises(ExpressionError, match="unknown name 'k'"):
        ex.validate(ex.parse("exp(-k*tas)"), inputs=INPUTS, params={})


@pytest.mark.parametrize("bounds", [(0.0, math.inf), (-math.inf, 1.0), (1.0, 1.0), (2.0, 1.0), (math.nan, 1.0)])
def test_unbounded_parameter(bounds):
    with pytest.raises(ExpressionError, match="unbounded or empty"):
        ex.validate(ex.parse("exp(-k*tas)"), inputs=INPUTS, params={"k": bounds})


def test_parameter_cannot_shadow_input_or_function():
    with pytest.raises(ExpressionError, match="name of a catalog input"):
        ex.validate(ex.parse("tas"), inputs=INPUTS, params={"tas": (0, 1)})
    with pytest.raises(ExpressionError, match="shadows the function"):
        ex.validate(ex.parse("tas"), inputs=INPUTS, params={"exp": (0, 1)})


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("tas^11", {}),
        ("tas^(-10.5)", {}),
        ("tas^(2*6)", {}),
        ("tas^p", {"p": (0.5, 12.0)}),
        ("tas^(-p)", {"p": (0.5, 10.5)}),
        ("tas^(p*q)", {"p": (1.0, 4.0), "q": (1.0, 4.0)}),
        ("tas^(1/p)", {"p": (-1.0, 1.0)}),  # interval through 0: unbounded
        ("tas^exp(p)", {"p": (0.0, 3.0)}),
    ],
)
def test_absurd_exponents(text, params):
    with pytest.raises(ExpressionError, match="absurd exponent"):
        ex.validate(ex.parse(text), inputs=INPUTS, params=params)


@pytest.mark.parametrize(
    ("text", "params"),
    [("tas^10", {}), ("tas^(-10)", {}), ("tas^p", {"p": (-10.0, 10.0)}),
     ("tas^(p*q)", {"p": (1.0, 3.0), "q": (1.0, 3.0)}), ("tas^exp(p)", {"p": (0.0, 2.0)}),
     ("tas^clip(p)", {"p": (-50.0, 50.0)})],
)
def test_reasonable_exponents_pass(text, params):
    ex.validate(ex.parse(text), inputs=INPUTS, params=params)


def test_exponent_must_not_depend_on_inputs():
    with pytest.raises(ExpressionError, match="depends on input"):
        ex.validate(ex.parse("2^tas"), inputs=INPUTS, params={})


# -- printers ---------------------------------------------------------------------------------
def test_latex():
    s = ex.to_latex(ex.parse("sigmoid(k*(tas - t0))/sqrt(abs(x))"), symbols={"t0": "T_0"})
    assert s.startswith(r"\frac{\sigma\left(")
    assert "T_0" in s and r"\sqrt{\left|\mathit{x}\right|}" in s
    assert ex.to_latex(ex.parse("1e-05*x")) == r"1 \times 10^{-5} \cdot \mathit{x}"
    assert ex.to_latex(ex.parse("(a + b)^2")) == r"{\left(\mathit{a} + \mathit{b}\right)}^{2}"


def test_fortran_literals_and_powers():
    f = ex.to_fortran(ex.parse("x^2 + x^0.5 + y^(-1) + 3"), {"x": "xx", "y": "yy"})
    assert "(xx**2)" in f  # integer power stays integer (exact, like numpy's x**2.0)
    assert "(xx**0.5_r8)" in f
    assert "(yy**(-1))" in f
    assert "3.0_r8" in f  # never an integer literal (no integer division)
    assert ex.to_fortran(ex.parse("clip(x)")) == "min(1.0_r8, max(0.0_r8, x))"
    assert "exp(-" in ex.to_fortran(ex.parse("sigmoid(x)"))


def test_numpy_printer_matches_evaluate():
    e = ex.parse("clip(sigmoid(k*(tas - t0)) - 0.1, 0, 0.8) * max(tas, 280, k)^2 / sqrt(abs(tas))")
    src = ex.to_numpy(e)
    env = {"tas": np.linspace(250, 320, 11), "k": 0.2, "t0": 290.0}
    ns = {"np": np, **env}
    # our own generated source, compiled only here to check the printer
    got = eval(compile(src, "<generated>", "eval"), ns)  # noqa: S307
    np.testing.assert_allclose(got, ex.evaluate(e, env), rtol=1e-15)


# -- property: printing and parsing are inverse ---------------------------------------------------
_leaf = st.one_of(
    st.sampled_from(["x", "y", "k"]).map(ex.Name),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(ex.Num),
)


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/", "^"]), children, children).map(
            lambda t: ex.BinOp(*t)
        ),
        children.map(lambda c: ex.Neg(c) if not isinstance(c, ex.Num) else c),
        st.tuples(st.sampled_from(["exp", "log", "sigmoid", "abs", "clip"]), children).map(
            lambda t: ex.Call(t[0], (t[1],))
        ),
        st.tuples(children, children).map(lambda t: ex.Call("max", t)),
    )


@settings(max_examples=200, deadline=None)
@given(st.recursive(_leaf, _extend, max_leaves=12))
def test_print_parse_round_trip_property(e):
    assert ex.parse(ex.to_text(e)) == e


@pytest.mark.parametrize("text, words", [
    ("tas * é", "character 'é' not allowed"),
    ("x²", "character '²' not allowed"),
    ("+".join(["a"] * 999), "999 operations deep"),
])
def test_hostile_expressions_are_expression_errors(text, words):
    with pytest.raises(ExpressionError, match=words):
        ex.parse(text)
