import json

import pytest

from fireform.agent.proposal import Proposal, ground, parse_proposal, proposal_json_schema
from fireform.exceptions import ProposalError
from fireform.testing import tiny_drivers

RAT = "Antecedent productivity builds fuel; dryness opens the fire season."


@pytest.fixture(scope="module")
def drivers():
    return tiny_drivers()


def _new_term(expression, params=None, **kw):
    t = {
        "name": "vpd_gate",
        "expression": expression,
        "params": params if params is not None else [
            {"name": "v0", "lo": 0.0, "hi": 3.0, "units": "kPa", "description": "midpoint"},
            {"name": "k", "lo": 0.1, "hi": 10.0, "units": "kPa-1", "description": "steepness"},
        ],
        "rationale": "Atmospheric demand dries dead fuel within days.",
        "references": ["Mangeon2016"],
    }
    t.update(kw)
    return t


def test_valid_library_proposal_grounds(drivers):
    g = ground({"mechanisms": ["temperature_ignition", "rh_limiter"], "rationale": RAT}, drivers=drivers)
    assert g.ok, g.reasons
    assert set(g.form.term_ids) == {"temperature_ignition", "rh_limiter"}


def test_valid_new_term_grounds(drivers):
    p = {"mechanisms": ["rh_limiter"], "new_terms": [_new_term("sigmoid(k * (vpd - v0))")], "rationale": RAT}
    g = ground(p, drivers=drivers)
    assert g.ok, g.reasons


def test_unknown_mechanism_listed_with_valid_ids(drivers):
    g = ground({"mechanisms": ["magic_fire"], "rationale": RAT}, drivers=drivers)
    assert not g.ok and "magic_fire" in g.reasons[0] and "rh_limiter" in g.reasons[0]


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('rm -rf /')",
        "vpd.__class__",
        "eval(vpd)",
        "vpd ^ 400",
        "sigmoid(k * (vpd - v0)) + unknown_input",
        "vpd[0]",
    ],
)
def test_malicious_or_malformed_expression_rejected(drivers, expression):
    p = {"mechanisms": [], "new_terms": [_new_term(expression)], "rationale": RAT}
    g = ground(p, drivers=drivers)
    assert not g.ok
    assert g.reasons


def test_numbers_for_parameters_rejected():
    # The agent never chooses numbers: a value field is a schema error ...
    params = [{"name": "v0", "lo": 0.0, "hi": 3.0, "units": "kPa", "description": "m", "value": 1.2}]
    with pytest.raises(ProposalError, match="value"):
        parse_proposal({"mechanisms": [], "new_terms": [_new_term("clip(vpd / v0)", params)], "rationale": RAT})
    with pytest.raises(ProposalError, match="params"):
        parse_proposal({"mechanisms": ["rh_limiter"], "rationale": RAT, "params": {"rh_limiter.rh_lo": 30}})
    # ... and so is a fitted magnitude hidden as a literal in an expression.
    g = ground({"mechanisms": [], "new_terms": [_new_term("sigmoid(k * (vpd - v0)) * exp(-0.0168 * popd)")],
                "rationale": RAT})
    assert not g.ok and "0.0168" in g.reasons[0]


def test_out_of_range_term_rejected(drivers):
    g = ground({"mechanisms": [], "new_terms": [_new_term("k * vpd + v0")], "rationale": RAT}, drivers=drivers)
    assert not g.ok and "leaves [0, 1]" in g.reasons[0]


def test_duplicate_form_rejected(drivers):
    first = ground({"mechanisms": ["rh_limiter", "temperature_ignition"], "rationale": RAT}, drivers=drivers)
    again = ground({"mechanisms": ["temperature_ignition", "rh_limiter"], "rationale": RAT},
                   drivers=drivers, tried=[first.form.hash])
    assert not again.ok and "duplicate" in again.reasons[0]


def test_garbage_text_rejected():
    assert not ground("I think you should add more fire.").ok
    assert not ground("{not json}").ok
    p = parse_proposal("```json\n" + json.dumps({"mechanisms": ["rh_limiter"], "rationale": RAT}) + "\n```")
    assert isinstance(p, Proposal)


def test_schema_is_json_schema():
    s = proposal_json_schema()
    assert s["additionalProperties"] is False and "mechanisms" in s["properties"]
