"""The obstacle expert's targets, flip and read-out on real generated scenes."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lttw.data import obstacle_box_rows
from lttw.generator import DISTANCES, OBSTACLE_KINDS, POSITIONS, generate
from lttw.obstacle_expert import (FLIPPED_SLOT, N_CLASSES, N_SLOTS, ObstacleConfig, ObstacleExpert, loss, probabilities,
                                  read, slot_of, targets)
from lttw.obstacle_map import score
from lttw.preprocess import preprocess

REPO = Path(__file__).resolve().parents[2]


def _scenes_with_obstacles(n):
    out, seed = [], 9_100_000
    while len(out) < n:
        sc = generate(seed)
        if sc.facts["obstacles"]:
            out.append(sc)
        seed += 1
    return out


def _perfect(y, confidence=0.9):
    """Slot probabilities that say exactly targets y [9]."""
    p = np.full((N_SLOTS, N_CLASSES), (1 - confidence) / (N_CLASSES - 1))
    p[np.arange(N_SLOTS), y] = confidence
    return p


def test_targets_put_each_obstacle_in_its_slot_and_read_gives_the_labels_back():
    scenes = _scenes_with_obstacles(30)
    y = targets(np.stack([obstacle_box_rows(s) for s in scenes]))
    assert y.shape == (30, N_SLOTS)
    for sc, row in zip(scenes, y):
        want = {(o["position"], o["kind"], o["distance"]) for o in sc.facts["obstacles"]}
        assert (row > 0).sum() == len(sc.facts["obstacles"])
        for o in sc.facts["obstacles"]:
            s = slot_of(POSITIONS.index(o["position"]), DISTANCES.index(o["distance"]))
            assert row[s] == 1 + OBSTACLE_KINDS.index(o["kind"])
        got = read(_perfect(row), 0.5)
        assert {(o["position"], o["kind"], o["distance"]) for o in got} <= want
        assert {(o["position"], o["kind"]) for o in got} == {(p, k) for p, k, _ in want}
    # A frame read as the labels scores perfectly; a frame read empty finds nothing.
    truth = [s.facts["obstacles"] for s in scenes]
    assert score([read(_perfect(r), 0.5) for r in y], truth)["recall"] == 1.0
    assert score([read(_perfect(np.zeros(N_SLOTS, np.int64)), 0.5) for _ in y], truth)["recall"] == 0.0


def test_a_weak_slot_stays_silent():
    y = np.zeros(N_SLOTS, np.int64)
    y[slot_of(0, 0)] = 1 + OBSTACLE_KINDS.index("car")
    p = _perfect(y, confidence=0.4)
    assert read(p, 0.5) == []
    assert [o["kind"] for o in read(p, 0.3)] == ["car"]


def test_flipping_the_frame_swaps_left_and_right_slots():
    for p in range(3):
        for d in range(3):
            assert FLIPPED_SLOT[slot_of(p, d)] == slot_of(2 - p, d)
    assert (FLIPPED_SLOT[FLIPPED_SLOT] == np.arange(N_SLOTS)).all()


def test_the_loss_prefers_the_right_slots_and_the_model_has_the_expected_shape():
    torch.manual_seed(0)
    m = ObstacleExpert(ObstacleConfig()).eval()
    x = torch.zeros(2, 3, 128, 128)
    assert m(x).shape == (2, N_SLOTS, N_CLASSES)
    y = torch.zeros(2, N_SLOTS, dtype=torch.long)
    y[0, 4] = 3
    right = torch.full((2, N_SLOTS, N_CLASSES), -4.0)
    right[:, :, 0] = 4.0
    right[0, 4, 0], right[0, 4, 3] = -4.0, 4.0
    wrong = right.clone()
    wrong[0, 4, 3], wrong[0, 4, 5] = -4.0, 4.0
    assert loss(right, y, 0.3) < loss(wrong, y, 0.3)
    # The untrained expert starts at the prior: every slot most likely empty.
    p = probabilities(m(x).detach().numpy()[0], 1.0)
    assert (p.argmax(-1) == 0).all()


def test_far_weight_weights_far_obstacles_only_as_a_weighted_mean():
    torch.manual_seed(1)
    logits = torch.randn(3, N_SLOTS, N_CLASSES)
    y = torch.zeros(3, N_SLOTS, dtype=torch.long)
    far, near = slot_of(0, DISTANCES.index("far")), slot_of(2, DISTANCES.index("near"))
    y[0, far], y[1, near], y[2, far] = 2, 5, 7
    assert torch.allclose(loss(logits, y, 0.3, 1.0), loss(logits, y, 0.3))
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, N_CLASSES), y.reshape(-1), reduction="none").view(3, N_SLOTS)
    w = torch.full((3, N_SLOTS), 0.3)
    w[0, far], w[1, near], w[2, far] = 4.0, 1.0, 4.0
    assert torch.allclose(loss(logits, y, 0.3, 4.0), (ce * w).sum() / w.sum())
    # Only obstacles in far slots gain weight: with none there the loss is the plain one.
    y[0, far] = y[2, far] = 0
    assert torch.allclose(loss(logits, y, 0.3, 4.0), loss(logits, y, 0.3))
    with pytest.raises(ValueError, match="slot targets"):
        loss(logits.view(3 * N_SLOTS, 1, N_CLASSES), y.view(-1, 1), 0.3, 2.0)


def test_covered_targets_mark_the_patches_under_each_obstacle():
    from lttw.obstacle_expert import covered_targets
    scenes = _scenes_with_obstacles(20)
    rows = np.stack([obstacle_box_rows(s) for s in scenes])
    grid = 16
    cover = covered_targets(rows, grid).reshape(-1, grid, grid)
    for b, sc in enumerate(scenes):
        for kind, _, _, x0, y0, x1, y1 in rows[b]:
            if kind < 0 or not (0 <= (x0 + x1) / 2 <= 1 and 0 <= (y0 + y1) / 2 <= 1):
                continue  # (the generator labels a few obstacles whose box lies outside the frame)
            # The patch under the box centre (clipped to the frame) carries an obstacle, and every
            # marked patch lies inside some labelled box.
            r = min(grid - 1, max(0, int((y0 + y1) / 2 * grid)))
            c = min(grid - 1, max(0, int((x0 + x1) / 2 * grid)))
            assert cover[b, r, c] > 0
        marked = np.argwhere(cover[b] > 0)
        boxes = [r for r in rows[b] if r[0] >= 0]
        for r, c in marked:
            y, x = (r + 0.5) / grid, (c + 0.5) / grid
            assert any(x0 - 1 / grid <= x <= x1 + 1 / grid and y0 - 1 / grid <= y <= y1 + 1 / grid
                       for _, _, _, x0, y0, x1, y1 in boxes)
    assert (cover == 0).mean() > 0.3  # most of a street is not an obstacle


def test_merge_puts_the_expert_beside_the_other_experts_and_the_predictor_reads_obstacles_with_it(tmp_path):
    import json
    import os
    import shutil

    import cv2

    from lttw.artifact import OBSTACLE_PREFIX, Predictor, load_artifact, merge_obstacle
    from safetensors.torch import load_file

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model_dir = tmp_path / "model"
    shutil.copytree(os.path.join(repo, "models", "default"), model_dir, ignore=shutil.ignore_patterns("eval", "selftest", "*.png"))
    run = tmp_path / "run"
    run.mkdir()
    torch.manual_seed(1)
    expert = ObstacleExpert(ObstacleConfig())
    torch.save({"model": expert.state_dict(), "config": expert.c.to_dict(), "step": 7}, run / "best.pt")
    at = {"recall": 0.5, "precision": 0.8, "distance_accuracy": 0.9, "labelled": 10}
    (run / "calibration.json").write_text(json.dumps({"temperature": 1.0, "threshold": 0.05, "precision_target": 0.7,
                                                      "validation": {"scenes": 3, "seeds_from": 1_000_000, "at_threshold": at}}))
    before = {k for k in load_file(os.path.join(repo, "models", "default", "model.safetensors")) if not k.startswith(OBSTACLE_PREFIX)}
    cfg = merge_obstacle(str(run), str(model_dir), recipe="a lent GPU, 4 minutes")
    after = load_file(model_dir / "model.safetensors")
    # Every other tensor kept; the training-only token head left out.
    assert before <= set(after)
    assert {k for k in after if k.startswith(OBSTACLE_PREFIX)} == {OBSTACLE_PREFIX + k for k in expert.exported_state()}
    assert not any(k.startswith(OBSTACLE_PREFIX + "token_kind") for k in after)
    assert cfg["obstacle_expert"]["threshold"] == 0.05
    assert cfg["obstacle_expert"]["training"] == {"run": str(run), "step": 7, "recipe": "a lent GPU, 4 minutes"}
    model, _, _ = load_artifact(str(model_dir))
    assert model.obstacle_expert is not None and model.signal_expert is not None
    # At a threshold of 0.05 an untrained expert calls some slot an obstacle; the facts carry what
    # obstacle_expert.read says of its probabilities, not the scene heads' obstacles.
    bgr = cv2.imread(os.path.join(repo, "samples", "images", "11_obstacles_several.jpg"))
    facts = Predictor(str(model_dir)).run_batch([bgr], captions=False)[0]
    x = torch.from_numpy(preprocess(bgr, 128))[None]
    want = read(probabilities(model.obstacle_expert(x).detach().numpy()[0], 1.0), 0.05)
    assert [(o["kind"], o["position"], o["distance"]) for o in facts["obstacles"]] == [(o["kind"], o["position"], o["distance"]) for o in want]
    assert want


def test_the_evaluation_breaks_obstacles_down_by_kind_and_position():
    from lttw.evaluate import match_obstacles, obstacle_breakdown
    gt = [[{"kind": "car", "position": "left"}, {"kind": "person", "position": "ahead"}],
          [{"kind": "car", "position": None}]]
    pred = [[{"kind": "car", "position": "left"}, {"kind": "car", "position": "right"}],
            [{"kind": "car", "position": "ahead"}]]
    tally = {}
    for g, p in zip(gt, pred):
        obstacle_breakdown(g, p, tally)
    assert tally[("kind", "car")] == [2, 2, 2, 3]  # both car labels found; two of three car calls right
    assert tally[("kind", "person")] == [0, 1, 0, 0]
    assert tally[("position", "left")] == [1, 1, 1, 1]
    assert tally[("position", "ahead")] == [0, 1, 1, 1]  # the person missed; the call ahead matched the unplaced car
    assert tally[("position", "right")] == [0, 0, 0, 1]
    # The totals agree with match_obstacles.
    assert sum(match_obstacles(g, p)[0] for g, p in zip(gt, pred)) == 2


def test_a_warm_start_from_a_model_folder_takes_its_shipped_expert_and_leaves_the_token_head_fresh(tmp_path):
    import json
    import os

    import pytest
    from safetensors.torch import load_file, save_file

    from lttw.artifact import OBSTACLE_PREFIX
    from lttw.obstacle_expert_train import init_tensors

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model_dir = os.path.join(repo, "models", "default")
    given = init_tensors(model_dir, "cpu")
    shipped = {k[len(OBSTACLE_PREFIX):]: v for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()
               if k.startswith(OBSTACLE_PREFIX)}
    assert set(given) == set(shipped) and all(torch.equal(given[k], shipped[k]) for k in shipped)
    with open(os.path.join(model_dir, "config.json")) as f:
        arch = json.load(f)["obstacle_expert"]["architecture"]
    own = ObstacleExpert(ObstacleConfig(**arch)).state_dict()
    # Not shipped: the training-only token head and batch norm's step counters.
    assert set(given) < set(own) and all(k.startswith("token_kind.") or k.endswith("num_batches_tracked")
                                         for k in set(own) - set(given))
    assert all(own[k].shape == v.shape for k, v in given.items())
    # A model folder without an obstacle expert is refused by name.
    (tmp_path / "config.json").write_text("{}")
    save_file({"scene.weight": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(SystemExit, match="no obstacle expert"):
        init_tensors(str(tmp_path), "cpu")


def test_real_empty_draws_only_the_viewed_street_photos_with_nothing_in_the_way_outside_the_held_out_fold():
    import pytest

    from lttw.obstacle_expert_train import parse_args, real_labelled
    from lttw.real_obstacles import annotated, in_fold, source_rows, splits_of, viewed_labels

    sources = source_rows()
    rows = annotated(viewed_labels(), splits_of(sources), "train")
    expected = [r for r in rows if not r["obstacles"] and not in_fold(r["file"], sources, 1)]
    held_out = [r for r in rows if not r["obstacles"] and in_fold(r["file"], sources, 1)]
    assert expected and held_out and any(r["obstacles"] for r in rows)
    images, slots, tokens = real_labelled(32, 4, holdout_fold=1, empty_only=True)
    assert images.shape == (len(expected), 32, 32, 3) and images.dtype == np.uint8
    # Every slot and every token says "empty": these photos teach only what is not in the way.
    assert not slots.any() and tokens.shape == (len(expected), 16) and not tokens.any()
    # --real_labels already draws the empty photos, so the two are not given together.
    with pytest.raises(SystemExit):
        parse_args(["--run", "r", "--real_empty", "0.1", "--real_labels", "0.1"])
    assert parse_args(["--run", "r", "--real_empty", "0.0625", "--real_negatives", "0.125"]).real_empty == 0.0625


def test_recall_by_distance_counts_each_label_once_under_its_own_distance():
    from lttw.obstacle_holdout import recall_by_distance

    truth = [[{"kind": "car", "position": "left", "distance": "far"},
              {"kind": "person", "position": "ahead", "distance": "near"}],
             [{"kind": "car", "position": "left", "distance": "far"}]]
    # The first frame's car is found (at the wrong distance: recall counts kind and position), its
    # person is called on the wrong side; the second frame's car is missed by a call of another kind.
    found = [[{"kind": "car", "position": "left", "distance": "near"},
              {"kind": "person", "position": "right", "distance": "near"}],
             [{"kind": "bin", "position": "left", "distance": "far"}]]
    by = recall_by_distance(truth, found)
    assert by["far"] == {"recall": 0.5, "labelled": 2}
    assert by["near"] == {"recall": 0.0, "labelled": 1}
    assert by["mid"] == {"recall": None, "labelled": 0}


def test_false_calls_tell_a_wrong_kind_at_a_labelled_place_from_a_call_where_nothing_is():
    from lttw.evaluate import false_calls

    truth = [[{"kind": "car", "position": "ahead", "distance": "far"},
              {"kind": "pole", "position": "right", "distance": "mid"}],
             [],
             [{"kind": "person", "position": "left", "distance": "near"}]]
    # Frame 1: the car is called a bicycle at its place (wrong kind), the pole is missed and a sign
    # is called ahead, where the car's place is already taken (nothing left there). Frame 2 has
    # nothing, so its call is a call where nothing is. Frame 3's person is found: no false call.
    found = [[{"kind": "bicycle", "position": "ahead", "distance": "far"},
              {"kind": "sign", "position": "ahead", "distance": "mid"}],
             [{"kind": "bin", "position": "left", "distance": "near"}],
             [{"kind": "person", "position": "left", "distance": "near"}]]
    f = false_calls(truth, found)
    assert f["wrong_kind"] == 1
    assert f["nothing"] == 2
    assert f["confusion"] == {("car", "bicycle"): 1}


def test_samples_obstacles_scores_the_shipped_samples_by_kind_and_side():
    import json
    import os
    from conftest import REPO
    from lttw.samples_obstacles import score

    with open(os.path.join(REPO, "samples", "expected.jsonl")) as f:
        expected = [json.loads(line) for line in f]
    said = [{"file": r["file"], "obstacles": list(r["obstacles"])} for r in expected]
    perfect = score(expected, said)
    assert perfect["labelled"] == 12 and perfect["named"] == 12
    assert perfect["wrong_kind"] == 0 and perfect["nothing"] == 0
    # Sample 11's car called a bicycle, sample 15 (nothing in view) given a person, sample 12 left
    # out of what was said: one wrong kind, one call where nothing is, two obstacles fewer named.
    for s in said:
        if s["file"].endswith("11_obstacles_several.jpg"):
            s["obstacles"] = [{"kind": "bicycle", "position": "ahead"} if o["kind"] == "car" else o for o in s["obstacles"]]
        if s["file"].endswith("15_nothing_in_view.jpg"):
            s["obstacles"] = [{"kind": "person", "position": "ahead"}]
    said = [s for s in said if not s["file"].endswith("12_obstacle_near_ahead.jpg")]
    s = score(expected, said)
    assert s["named"] == 10
    assert s["wrong_kind"] == 1 and s["nothing"] == 1
    assert s["confusion"] == [{"label": "car", "called": "bicycle", "count": 1}]
    assert [f["file"] for f in s["frames"] if f["missing_from_said"]] == ["12_obstacle_near_ahead.jpg"]


def test_real_negative_crops_leave_out_the_held_out_fold():
    from lttw.obstacle_expert_train import signal_crops
    from lttw.real_obstacles import in_fold, source_rows
    from lttw.signal_data import signal_crop_files

    sources = source_rows()
    files = signal_crop_files("train")
    kept = [f for f in files if not in_fold(f, sources, 1)]
    assert 0 < len(kept) < len(files)
    assert len(signal_crops("train", 16, holdout_fold=1)) == len(kept)
    assert len(signal_crops("train", 16)) == len(files)


def test_read_gives_the_nearest_distance_at_the_surest_confidence():
    # A car ahead read at 0.40 near and 0.92 far: said near (the safe error), at 0.92, so a
    # tracker's confidence floor does not drop it; another kind on that side stays its own.
    p = np.zeros((N_SLOTS, N_CLASSES))
    p[:, 0] = 1.0
    car, person = 1 + OBSTACLE_KINDS.index("car"), 1 + OBSTACLE_KINDS.index("person")
    near, far = slot_of(POSITIONS.index("ahead"), 0), slot_of(POSITIONS.index("ahead"), 2)
    p[near] = 0.0
    p[near, car], p[near, 0] = 0.40, 0.60
    p[far] = 0.0
    p[far, car], p[far, 0] = 0.92, 0.08
    mid_left = slot_of(POSITIONS.index("left"), 1)
    p[mid_left] = 0.0
    p[mid_left, person], p[mid_left, 0] = 0.5, 0.5
    got = read(p, 0.35)
    assert got == [{"kind": "car", "position": "ahead", "distance": "near", "confidence": 0.92},
                   {"kind": "person", "position": "left", "distance": "mid", "confidence": 0.5}]


def test_a_mobilenet_v2_trunk_takes_an_imagenet_checkpoints_tensors_and_refuses_another_file(tmp_path):
    """The `mobilenet_v2` trunk (the Swift engine runs it: MobileNetTrunk) is MobileNetV2's first feature
    layers under the names every ImageNet checkpoint of it uses (`features.N...`): a checkpoint
    written in that layout loads tensor for tensor; a file of other tensors is refused by name."""
    import torch
    from lttw.obstacle_expert import (ObstacleConfig, ObstacleExpert, mobilenet_v2_channels, mobilenet_v2_features,
                                      mobilenet_v2_stride)
    assert [mobilenet_v2_stride(b) for b in (1, 2, 4, 7, 11, 14, 17)] == [2, 2, 4, 8, 16, 16, 32]
    assert [mobilenet_v2_channels(b) for b in (1, 2, 7, 14, 18)] == [32, 16, 32, 96, 320]
    torch.manual_seed(0)
    full = mobilenet_v2_features(18)  # every feature layer an ImageNet checkpoint holds but the last 1×1
    path = tmp_path / "imagenet.pt"
    torch.save({f"features.{k}": v for k, v in full.state_dict().items()}, path)
    expert = ObstacleExpert(ObstacleConfig(trunk="mobilenet_v2", trunk_blocks=14))
    assert expert.c.grid == 8
    assert expert.load_pretrained_trunk(str(path)) == len(expert.trunk.state_dict())
    for k, v in expert.trunk.state_dict().items():
        assert torch.equal(v, full.state_dict()[k]), k
    expert.eval()
    slots, tokens = expert.forward_train(torch.zeros(2, 3, 128, 128))
    assert slots.shape == (2, 9, 11) and tokens.shape == (2, 64, 11)
    other = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="not a MobileNetV2 checkpoint"):
        expert.load_pretrained_trunk(str(other))
    with pytest.raises(ValueError, match="trunk 'resnet'"):
        ObstacleExpert(ObstacleConfig(trunk="resnet"))


def test_a_mobilenet_v2_run_merges_into_a_model_folder_and_loads_back_as_it_was_trained(tmp_path):
    """merge-obstacle writes a MobileNetV2 expert as the Swift engine reads it: every tensor the
    trunk runs (batch norms unfolded, their step counters left out: Swift folds them at load), and
    only the architecture fields that trunk uses. Loaded back, it reads a frame as the run did."""
    import shutil
    from safetensors.torch import load_file
    from lttw.artifact import load_artifact, merge_obstacle
    run = tmp_path / "run"
    run.mkdir()
    torch.manual_seed(3)
    expert = ObstacleExpert(ObstacleConfig(trunk="mobilenet_v2", trunk_blocks=7)).eval()
    for m in expert.modules():  # statistics other than the initial 0 and 1, so unfolded norms would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    torch.save({"model": expert.state_dict(), "config": expert.c.to_dict(), "step": 1}, run / "best.pt")
    (run / "calibration.json").write_text(json.dumps({
        "temperature": 1.3, "threshold": 0.4, "precision_target": 0.7,
        "validation": {"scenes": 10, "seeds_from": 1_000_000,
                       "at_threshold": {"recall": 0.5, "precision": 0.7, "distance_accuracy": 0.6, "labelled": 5}}}))
    model_dir = tmp_path / "model"
    shutil.copytree(REPO / "models" / "default", model_dir)
    cfg = merge_obstacle(str(run), str(model_dir))
    assert cfg["obstacle_expert"]["architecture"] == {"image_size": 128, "token_features": 8, "trunk": "mobilenet_v2",
                                                      "trunk_blocks": 7}
    written = load_file(str(model_dir / "model.safetensors"))
    assert "obstacle.trunk.1.conv.1.running_var" in written
    assert not [k for k in written if k.endswith("num_batches_tracked") or k.startswith("obstacle.token_kind")]
    model, _, _ = load_artifact(str(model_dir))
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        assert torch.allclose(model.obstacle_expert(x), expert(x), atol=1e-6)


def test_a_mobilenet_v2_trunk_the_swift_engine_would_refuse_is_never_merged():
    """merge-obstacle writes only what the Swift loader takes: 2…18 layers, 16…512 px, a multiple of
    the trunk's stride, at most 64 cells a side."""
    from lttw.artifact import exported_architecture
    assert exported_architecture(ObstacleConfig(trunk="mobilenet_v2", trunk_blocks=14))["trunk_blocks"] == 14
    for blocks, size in [(1, 128), (19, 128), (14, 120), (14, 1024), (4, 512)]:
        with pytest.raises(ValueError, match="the Swift engine runs"):
            exported_architecture(ObstacleConfig(trunk="mobilenet_v2", trunk_blocks=blocks, image_size=size))


def test_image_size_is_a_training_option_held_to_the_grids_stride():
    """--image_size squashes frames to another side (a finer grid for far obstacles); a side the
    trunk's stride does not divide is refused before anything renders."""
    from lttw.obstacle_expert_train import parse_args
    common = ["--run", "r", "--trunk", "mobilenet_v2", "--trunk_blocks", "14"]
    assert parse_args(common).image_size == ObstacleConfig.image_size == 128
    assert parse_args(common + ["--image_size", "160"]).image_size == 160
    assert ObstacleConfig(trunk="mobilenet_v2", trunk_blocks=14, image_size=160).grid == 10
    for size in ("150", "8"):
        with pytest.raises(SystemExit):
            parse_args(common + ["--image_size", size])


def test_the_holdout_reads_a_run_at_the_precision_its_trainer_calibrated_for(tmp_path):
    """lttw.obstacle_holdout fits the run's threshold for the target its calibration.json names, as
    merge-obstacle would ship it; an explicit --precision wins, and a run without one reads at 0.7."""
    from lttw.obstacle_holdout import precision_target
    assert precision_target(str(tmp_path)) == 0.7
    (tmp_path / "calibration.json").write_text(json.dumps({"temperature": 0.9, "threshold": 0.35, "precision_target": 0.75}))
    assert precision_target(str(tmp_path)) == 0.75
    assert precision_target(str(tmp_path), 0.8) == 0.8
