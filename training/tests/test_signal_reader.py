"""The crop reader's configuration: a reader without a stem writes no stem keys (so the shipped
model's config and checkpoints made before stems compare equal), and a convolutional stem embeds
the same patch grid the plain patch embedding does."""
import json
import os
import shutil

import pytest
import torch

from lttw.signal_model import SignalConfig, SignalReader

MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "models", "default")


def test_a_reader_without_a_stem_round_trips_the_shipped_architecture():
    with open(os.path.join(MODEL, "config.json")) as f:
        se = json.load(f)["signal_expert"]
    c = SignalConfig(**se["architecture"], classes=se["classes"])
    assert c.stem is None
    assert {k: v for k, v in c.to_dict().items() if k != "classes"} == se["architecture"]
    assert "stem" not in SignalConfig().to_dict()


def test_a_conv_stem_gives_the_patch_grid_and_is_checked():
    torch.manual_seed(0)
    c = SignalConfig(patch_size=4, width=16, depth=1, heads=2, head_hidden=8, stem="conv", stem_channels=[8])
    reader = SignalReader(c)
    convs = [m for m in reader.encoder.patch_embed if isinstance(m, torch.nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in convs] == [(3, 8, (2, 2)), (8, 16, (2, 2))]
    x = torch.randn(3, 3, 32, 32)
    assert reader.features(x).shape == (3, 32)
    assert reader(x, torch.zeros(3, 5)).shape == (3, 6)
    assert c.to_dict()["stem_channels"] == [8]
    with pytest.raises(ValueError, match="needs 1 stem channel counts"):
        SignalReader(SignalConfig(patch_size=4, width=16, depth=1, stem="conv", stem_channels=[8, 12]))
    with pytest.raises(ValueError, match="unknown stem"):
        SignalReader(SignalConfig(patch_size=4, width=16, depth=1, stem="dilated", stem_channels=[8]))


def test_a_model_calibrated_before_a_proposal_rule_is_refused(tmp_path):
    # config.json records the proposal contract, the frame-filling rule and the lamp figure
    # included; a model without either was calibrated on other candidates and is refused, as
    # Swift refuses it.
    from lttw.artifact import Predictor, proposal_constants
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(os.path.join(MODEL, name), tmp_path / name)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["signal_expert"]["proposals"] == proposal_constants()
    for rule in ("whole_frame_filling", "cluster_max"):
        edited = json.loads(json.dumps(cfg))
        del edited["signal_expert"]["proposals"][rule]
        (tmp_path / "config.json").write_text(json.dumps(edited))
        with pytest.raises(ValueError, match="proposal constants"):
            Predictor(str(tmp_path))
