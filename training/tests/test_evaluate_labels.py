"""labels.jsonl as the evaluator reads it: a light it does not know is refused by line."""
import json

import pytest

from lttw.evaluate import read_labels


def test_read_labels_refuses_a_light_the_scorer_does_not_know_and_keeps_null(tmp_path):
    rows = [{"file": "a.jpg", "pedestrian_light": "red"}, {"file": "b.jpg", "pedestrian_light": None}]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert [r["file"] for r in read_labels(str(tmp_path))] == ["a.jpg", "b.jpg"]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in rows + [{"file": "c.jpg", "pedestrian_light": "off"}]))
    with pytest.raises(ValueError, match=r"labels.jsonl:3: pedestrian_light 'off' is none of red, green, yellow, off_or_none"):
        read_labels(str(tmp_path))
