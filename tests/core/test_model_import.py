"""An imported model with NaN or infinity anywhere is refused with a sentence (KAN.from_dict)."""

import json
import math

import pytest

from kan_core import KAN

BAD = [float("nan"), float("inf"), float("-inf")]
FIELDS = ["grid", "coef", "scale_base", "scale_sp", "mask", "symbolic_mask", "affine"]


def _model_dict():
    return json.loads(json.dumps(KAN([2, 3, 1], grid=4, seed=1).to_dict()))


def _first_number(value):
    """The path to the first number inside nested lists."""
    path = []
    while isinstance(value, list):
        path.append(0)
        value = value[0]
    return path


def _set(container, path, value):
    for key in path[:-1]:
        container = container[key]
    container[path[-1]] = value


@pytest.mark.parametrize("bad", BAD, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("layer", [0, 1])
def test_nan_or_infinity_in_any_array_is_refused(field, layer, bad):
    d = _model_dict()
    raw = d["layers"][layer]
    assert field in raw
    _set(raw, [field, *_first_number(raw[field])], bad)
    with pytest.raises(ValueError, match=f"Layer {layer} field '{field}' contains NaN or infinite numbers"):
        KAN.from_dict(d)


@pytest.mark.parametrize("key, value, words", [
    ("grid_range", [float("nan"), 1.0], "grid range must be two finite numbers"),
    ("grid_range", [-1.0, float("inf")], "grid range must be two finite numbers"),
    ("grid_eps", float("nan"), "grid_eps must be a number from 0 to 1"),
    ("grid_eps", float("-inf"), "grid_eps must be a number from 0 to 1"),
])
def test_nan_or_infinity_in_the_settings_is_refused(key, value, words):
    d = _model_dict()
    d[key] = value
    with pytest.raises(ValueError, match=words):
        KAN.from_dict(d)


def test_numbers_written_as_text_are_read_and_checked_too():
    d = _model_dict()
    d["layers"][0]["coef"][0][0][0] = "Infinity"
    with pytest.raises(ValueError, match="NaN or infinite"):
        KAN.from_dict(d)


def test_a_clean_file_still_loads_exactly():
    d = _model_dict()
    model = KAN.from_dict(d)
    assert model.to_dict() == d
    assert all(math.isfinite(v) for v in model.get_params())
