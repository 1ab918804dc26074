import re

from lttw.captions import caption
from lttw.generator import generate
from lttw.tokenizer import all_caption_texts


def test_never_safe():
    texts = all_caption_texts()
    for s in range(9_001_000, 9_001_150):
        c = generate(s).captions
        texts["en"].append(c["en"]); texts["zh"].append(c["zh"])
    for t in texts["en"]:
        assert "safe" not in t.lower()
    for t in texts["zh"]:
        assert "安全" not in t and "safe" not in t.lower()


def test_wording_and_danger_first():
    f = {"light": {"kind": "pedestrian", "state": "red", "position": "ahead"},
         "crosswalk": {"present": True, "offset": "left"},
         "obstacles": [{"kind": "bicycle", "position": "right", "distance": "near"}]}
    en = caption(f, "en")
    assert en == "Wait. Red pedestrian signal ahead. Crosswalk ahead, slightly left. Bicycle on your right, close."
    f["light"]["state"] = "green"
    f["obstacles"].append({"kind": "car", "position": "ahead", "distance": "near"})
    en = caption(f, "en")
    assert en.startswith("Car ahead, close.") and "Walk signal on." in en
    f2 = {"light": {"kind": "pedestrian", "state": "unknown", "position": "ahead"}, "crosswalk": None, "obstacles": []}
    assert caption(f2, "en") == "Signal unclear."


def test_mandarin_in_characters():
    for s in range(9_001_200, 9_001_260):
        zh = generate(s).captions["zh"]
        assert re.search(r"[\u4e00-\u9fff]", zh)
        assert not re.search(r"[A-Za-z]", zh)
