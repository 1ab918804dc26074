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
    # config.json records the proposal contract, the frame-filling rule, the lamp figure and the
    # colourless and noise bounds included; a model without one was calibrated on other candidates and is refused, as
    # Swift refuses it.
    from lttw.artifact import Predictor, proposal_constants
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(os.path.join(MODEL, name), tmp_path / name)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["signal_expert"]["proposals"] == proposal_constants()
    for rule in ("whole_frame_filling", "cluster_max", "colourless_chroma", "noise_chroma"):
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


def test_a_swapped_reader_reads_with_its_own_weights_and_temperature_under_the_same_rule(tmp_path):
    # lttw.signal_folds compares readers under one decision rule: `artifact swap-reader` puts a
    # run's reader and temperature into a model folder and keeps every threshold, the views, the
    # verifier and the countdown reader. The shipped reader swapped back in changes nothing; a
    # perturbed one changes only the reader's weights.
    import shutil
    from safetensors.torch import load_file
    from lttw.artifact import SIGNAL_PREFIX, extract_signal, swap_reader
    run = str(tmp_path / "run")
    extract_signal(MODEL, run)
    ck = torch.load(os.path.join(run, "best.pt"), map_location="cpu", weights_only=False)
    first = next(k for k in ck["model"] if k.endswith("weight"))
    ck["model"][first] = ck["model"][first] + 0.25
    torch.save(ck, os.path.join(run, "best.pt"))
    with open(os.path.join(run, "calibration.json")) as f:
        cal = json.load(f)
    cal["temperature"] = 0.5
    with open(os.path.join(run, "calibration.json"), "w") as f:
        json.dump(cal, f)
    model = str(tmp_path / "model")
    shutil.copytree(MODEL, model)
    swap_reader(run, model)
    with open(os.path.join(MODEL, "config.json")) as f:
        before = json.load(f)["signal_expert"]
    with open(os.path.join(model, "config.json")) as f:
        after = json.load(f)["signal_expert"]
    assert after["temperature"] == 0.5
    for key in ("thresholds", "green_confirmation", "green_verifier", "proposals", "classes"):
        assert after.get(key) == before.get(key), key
    old, new = load_file(os.path.join(MODEL, "model.safetensors")), load_file(os.path.join(model, "model.safetensors"))
    assert set(old) == set(new)
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed == {SIGNAL_PREFIX + first}


def test_a_deepened_reader_reads_the_samples_as_the_shipped_one_until_it_trains():
    # The shipped reader with a fourth block added as the identity: every candidate of a real sample
    # image reads the same; one training step then moves the new block, and a shallower depth is refused.
    import cv2
    from lttw import lamps
    from lttw.artifact import Predictor
    from lttw.signal_model import deepened
    shipped = Predictor(MODEL).signal
    sample = os.path.join(MODEL, "..", "..", "samples", "images", "01_pedestrian_green_street.jpg")
    rgb = cv2.imread(sample, cv2.IMREAD_COLOR)[..., ::-1].copy()
    cands = lamps.propose(rgb)
    x = torch.from_numpy(lamps.read_crops(rgb, cands, shipped.mean, shipped.std))
    g = torch.from_numpy(lamps.read_geometry(cands, rgb.shape[1], rgb.shape[0]))
    deeper = deepened(shipped.model, shipped.model.c.depth + 1).eval()
    assert deeper.c.depth == 4 and len(deeper.encoder.blocks) == 4
    with torch.no_grad():
        assert torch.allclose(deeper(x, g), shipped.model(x, g), atol=1e-6)
    before = deeper.encoder.blocks[3].mlp.fc2.weight.detach().clone()
    deeper.train()
    opt = torch.optim.SGD(deeper.parameters(), lr=0.1)
    torch.nn.functional.cross_entropy(deeper(x, g), torch.zeros(len(x), dtype=torch.long)).backward()
    opt.step()
    assert not torch.equal(deeper.encoder.blocks[3].mlp.fc2.weight, before)
    with pytest.raises(ValueError, match="cannot be deepened"):
        deepened(shipped.model, 2)


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


def test_the_held_out_folds_split_the_pedestrian_photos_by_group_and_nothing_else():
    # lttw.signal_folds: a group (near-duplicates) is held out whole, only pedestrian photos are held
    # out, the two folds are about the same size, and the fold of a group is the same everywhere
    # (CRC-32, not Python's salted hash).
    from lttw.signal_data import real_rows
    from lttw.signal_folds import fold_of, held_out
    assert fold_of("g00025") == fold_of("g00025") == (__import__("zlib").crc32(b"g00025") % 2)
    rows = real_rows("train")
    folds = [[r for r in rows if held_out(r, k)] for k in (0, 1)]
    assert not {r["file"] for r in folds[0]} & {r["file"] for r in folds[1]}
    assert all(os.path.basename(r["file"]).startswith("ptl_") for f in folds for r in f)
    ptl = [r for r in rows if os.path.basename(r["file"]).startswith("ptl_")]
    assert len(folds[0]) + len(folds[1]) == len(ptl)
    assert abs(len(folds[0]) - len(folds[1])) < 0.2 * len(ptl)
    for f in folds:
        groups = {r["group"] for r in f}
        assert all(held_out(r, folds.index(f)) for r in ptl if r["group"] in groups)
