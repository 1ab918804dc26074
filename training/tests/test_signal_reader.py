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


def test_the_shipped_reader_extracts_to_a_run_folder_that_mining_and_training_load(tmp_path):
    # A fresh clone keeps no training runs: `artifact extract-signal` writes the shipped reader as a
    # run folder. Its reads must be the model folder's reads, and its calibration the reader's alone
    # (the verifier's thresholds stay with the verifier, or the runner refuses the folder).
    import numpy as np
    from lttw.artifact import VERIFIER_THRESHOLDS, Predictor, extract_signal
    from lttw.signal_mining import _load_runner
    run = str(tmp_path / "run")
    cal = extract_signal(MODEL, run)
    with open(os.path.join(MODEL, "config.json")) as f:
        se = json.load(f)["signal_expert"]
    assert cal["temperature"] == se["temperature"]
    assert cal["green_confirmation"] == se["green_confirmation"]
    assert not set(VERIFIER_THRESHOLDS) & set(cal["thresholds"])
    assert {k: v for k, v in se["thresholds"].items() if k not in VERIFIER_THRESHOLDS} == cal["thresholds"]
    runner = _load_runner(run)
    shipped = Predictor(MODEL).signal
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(4, 3, 32, 32)).astype(np.float32))
    g = torch.rand(4, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(runner.model(x, g), shipped.model(x, g))


def test_desaturation_pulls_towards_grey_and_keeps_the_hue():
    # The pale-lamp augmentation: a teal LED colour keeps its channel order (green over blue over
    # red: the colour is the label) and its luma, and loses saturation; a grey crop stays as it is.
    from lttw.signal_train import augment, towards_grey
    teal = torch.tensor([40.0, 230.0, 180.0]).expand(3, 2, 2, 3)
    out = towards_grey(teal, torch.tensor([0.0, 0.3, 0.6]).view(3, 1, 1, 1))
    assert torch.equal(out[0], teal[0])
    luma = torch.tensor([0.299, 0.587, 0.114])
    assert torch.allclose((out * luma).sum(-1), (teal * luma).sum(-1), atol=1e-3)
    spread = (out.amax(-1) - out.amin(-1))[:, 0, 0]
    assert spread[0] > spread[1] > spread[2] > 0
    assert ((out[..., 1] > out[..., 2]) & (out[..., 2] > out[..., 0])).all()
    grey = torch.full((2, 2, 2, 3), 128.0)
    assert torch.allclose(towards_grey(grey, torch.full((2, 1, 1, 1), 0.5)), grey)
    # Off (the rounds before 7), augment draws exactly what it drew before: no extra random numbers.
    crops = torch.randint(0, 256, (16, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    g0, g1 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(augment(crops, g0), augment(crops, g1, desaturate=0.0))
    assert torch.equal(torch.rand(3, generator=g0), torch.rand(3, generator=g1))


def test_real_negatives_weigh_more_only_when_asked():
    from lttw.signal_data import NOT_SIGNAL
    from lttw.signal_train import real_sample_weights
    # classes: not a signal, ped red, not a signal, ped green; sources: real, real, generated, composite
    y = torch.tensor([NOT_SIGNAL, 1, NOT_SIGNAL, 2, NOT_SIGNAL])
    source = torch.tensor([0, 0, 1, 2, 0])
    assert real_sample_weights(y, source, 3.0).tolist() == [3.0, 3.0, 1.0, 1.0, 3.0]
    assert real_sample_weights(y, source, 3.0, 4.0).tolist() == [12.0, 3.0, 1.0, 1.0, 12.0]
    assert real_sample_weights(y, source, 1.0, 2.5).tolist() == [2.5, 1.0, 1.0, 1.0, 2.5]


def test_the_negative_class_weight_is_scaled_before_normalising():
    from lttw.signal_data import NOT_SIGNAL
    from lttw.signal_train import class_weights
    counts = torch.tensor([400.0, 100.0, 100.0, 25.0, 0.0, 25.0])
    plain = class_weights(counts)
    assert float(plain.mean()) == pytest.approx(1.0)
    # inverse square root of the counts (an empty class counts as one crop), relative to each other
    assert float(plain[1] / plain[NOT_SIGNAL]) == pytest.approx(2.0)
    assert float(plain[3] / plain[1]) == pytest.approx(2.0)
    doubled = class_weights(counts, 2.0)
    assert float(doubled.mean()) == pytest.approx(1.0)
    assert float(doubled[1] / doubled[NOT_SIGNAL]) == pytest.approx(1.0)
    assert float(doubled[3] / doubled[1]) == pytest.approx(2.0)
