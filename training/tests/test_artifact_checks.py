"""labels.jsonl as the evaluator reads it (a light it does not know is refused by line), and the
weights checksum every model-folder write records."""
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


def test_every_model_folder_write_records_the_weights_crc32_the_loader_checks(tmp_path):
    import zlib

    import torch
    from lttw.artifact import weights_crc32, write_weights_and_config

    cfg = {"format_version": 1}
    write_weights_and_config(str(tmp_path), {"a": torch.arange(6, dtype=torch.float32)}, cfg)
    written = json.loads((tmp_path / "config.json").read_text())
    crc = zlib.crc32((tmp_path / "model.safetensors").read_bytes())
    assert written["weights_crc32"] == f"{crc:08x}" == weights_crc32(str(tmp_path))


def test_the_shipped_model_records_its_weights_crc32():
    import os

    from conftest import REPO
    from lttw.artifact import weights_crc32

    model = os.path.join(REPO, "models", "default")
    with open(os.path.join(model, "config.json")) as f:
        assert json.load(f)["weights_crc32"] == weights_crc32(model)


def test_the_python_loader_refuses_weights_that_do_not_match_the_recorded_crc32(tmp_path):
    import os
    import shutil

    from conftest import REPO
    from lttw.artifact import load_artifact

    model = tmp_path / "m"
    shutil.copytree(os.path.join(REPO, "models", "default"), model)
    cfg = json.loads((model / "config.json").read_text())
    cfg["weights_crc32"] = "00000000"
    (model / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="its CRC-32 is .* but config.json's weights_crc32 says 00000000"):
        load_artifact(str(model))
