import json

import pytest

from neurosim.detect.spec import (
    DEFAULT_ANCHOR_RATIOS,
    DEFAULT_ANCHOR_SCALES,
    HeadSpec,
    HeadSpecError,
)
from neurosim.errors import NeurosimError

YOLOV8 = {"type": "yolov8", "num_classes": 2, "strides": [8, 16, 32], "input_size": [64, 96],
          "outputs": ["p3", "p4", "p5"]}
YOLOV3 = {"type": "yolov3", "num_classes": 3, "strides": [16, 32], "input_size": [64, 64], "outputs": ["p4", "p5"],
          "anchors": [[[10, 14], [23, 27], [37, 58]], [[81, 82], [135, 169], [344, 319]]]}
RETINA = {"type": "retina", "num_classes": 4, "strides": [8, 16], "input_size": [64, 64],
          "outputs": ["c3", "b3", "c4", "b4"], "anchor_sizes": [32, 64]}


@pytest.mark.parametrize("doc", [YOLOV8, YOLOV3, RETINA], ids=lambda d: d["type"])
def test_json_round_trip(doc):
    spec = HeadSpec.from_dict(doc)
    text = json.dumps(spec.to_dict())
    assert HeadSpec.from_dict(json.loads(text)) == spec


def test_to_dict_has_the_common_and_only_its_own_fields():
    assert HeadSpec.from_dict(YOLOV8).to_dict() == {**YOLOV8, "reg_max": 16}
    assert set(HeadSpec.from_dict(YOLOV3).to_dict()) == {"type", "num_classes", "strides", "input_size",
                                                          "outputs", "anchors"}
    retina = HeadSpec.from_dict(RETINA).to_dict()
    assert retina["anchor_ratios"] == list(DEFAULT_ANCHOR_RATIOS) == [0.5, 1.0, 2.0]
    assert retina["anchor_scales"] == list(DEFAULT_ANCHOR_SCALES) == [1.0, 2 ** (1 / 3), 2 ** (2 / 3)]


def test_sequences_are_stored_as_tuples_so_the_spec_is_hashable():
    spec = HeadSpec.from_dict(YOLOV3)
    assert spec.strides == (16, 32) and spec.input_size == (64, 64)
    assert spec.anchors[1][0] == (81.0, 82.0)
    hash(spec)


def test_output_channels_and_levels():
    assert HeadSpec.from_dict(YOLOV8).output_channels() == {"p3": 64 + 2, "p4": 66, "p5": 66}
    assert HeadSpec.from_dict(YOLOV3).output_channels() == {"p4": 3 * (5 + 3), "p5": 24}
    retina = HeadSpec.from_dict(RETINA)
    assert retina.output_channels() == {"c3": 9 * 4, "b3": 9 * 4, "c4": 36, "b4": 36}
    assert retina.level_outputs(1) == ("c4", "b4")
    assert retina.anchors_per_position() == 9
    assert HeadSpec.from_dict(YOLOV8).grid_size(2) == (2, 3)


@pytest.mark.parametrize("change, words", [
    ({"type": "ssd"}, "type"),
    ({"num_classes": 0}, "num_classes"),
    ({"strides": []}, "at least one level"),
    ({"strides": [8, 0, 32]}, "stride"),
    ({"input_size": [64]}, "input_size"),
    ({"outputs": ["p3", "p4"]}, "needs 3 output names"),
    ({"outputs": ["p3", "p3", "p5"]}, "unique"),
    ({"reg_max": 0}, "reg_max"),
    ({"anchors": [[[1, 1]]] * 3}, "yolov3"),
    ({"anchor_sizes": [8, 16, 32]}, "retina"),
])
def test_bad_specs_are_refused_with_a_sentence(change, words):
    with pytest.raises(HeadSpecError, match=words):
        HeadSpec.from_dict({**YOLOV8, **change})


def test_type_specific_requirements():
    with pytest.raises(HeadSpecError, match="needs 'anchors'"):
        HeadSpec.from_dict({k: v for k, v in YOLOV3.items() if k != "anchors"})
    with pytest.raises(HeadSpecError, match="one list per level"):
        HeadSpec.from_dict({**YOLOV3, "anchors": YOLOV3["anchors"][:1]})
    with pytest.raises(HeadSpecError, match=r"\(w, h\)"):
        HeadSpec.from_dict({**YOLOV3, "anchors": [[[1, 2, 3]], [[1, 2]]]})
    with pytest.raises(HeadSpecError, match="needs 4 output names"):
        HeadSpec.from_dict({**RETINA, "outputs": ["c3", "c4"]})
    with pytest.raises(HeadSpecError, match="anchor_sizes"):
        HeadSpec.from_dict({**RETINA, "anchor_sizes": [32]})
    with pytest.raises(HeadSpecError, match="anchor_ratios"):
        HeadSpec.from_dict({**RETINA, "anchor_ratios": []})


def test_from_dict_refuses_unknown_and_missing_fields():
    with pytest.raises(HeadSpecError, match="unknown"):
        HeadSpec.from_dict({**YOLOV8, "regmax": 8})
    with pytest.raises(HeadSpecError, match="lacks"):
        HeadSpec.from_dict({k: v for k, v in YOLOV8.items() if k != "strides"})
    with pytest.raises(HeadSpecError, match="JSON object"):
        HeadSpec.from_dict([YOLOV8])


def test_errors_are_user_errors_and_value_errors():
    assert issubclass(HeadSpecError, NeurosimError) and issubclass(HeadSpecError, ValueError)
