import os

import pytest

from conftest import REPO

MODEL = os.path.join(REPO, "models", "default")


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")), reason="models/default not shipped yet")
def test_shipped_default_model(tmp_path):
    from lttw.evaluate import evaluate
    from lttw.make_set import make_set
    make_set(str(tmp_path / "set"), 9_100_000, 48, workers=1, quiet=True)
    m = evaluate(MODEL, str(tmp_path / "set"), None, quiet=True, captions="no")
    assert m["false_green_count"] == 0
    # "mostly right": the shipped model abstains often (see models/default/README.md), so the light
    # check is on answered items; abstentions are never green.
    assert m["light_accuracy_answered"] >= 0.75
    assert m["light_accuracy"] >= 0.45
    assert m["crosswalk_accuracy"] >= 0.8
