"""The viewed obstacle labels of the real street photos, and the score read against them: the
labels name photos of ../shared/train/real (street photos only, never ../shared/eval), in the
generator's vocabulary; the score pairs (kind, position) as lttw.evaluate does; the shipped
obstacle expert's figures on the labelled photos are what the notes report."""
import json
import os

import pytest

from lttw.generator import OBSTACLE_KINDS
from lttw.obstacle_expert import FLIPPED_SLOT, slot_of
from lttw.real_obstacles import VIEWED_LABELS, annotated, score, slot_targets, source_rows, splits_of, viewed_labels
from lttw.signal_data import REAL_ROOT

needs_real = pytest.mark.skipif(not os.path.exists(os.path.join(REAL_ROOT, "labels.jsonl")),
                                reason=f"{REAL_ROOT} is not here (run from the repository root beside ../shared)")


def source_splits():
    return splits_of(source_rows())


def test_labels_are_well_formed_and_name_street_photos_once():
    rows = viewed_labels()
    files = [r["file"] for r in rows]
    assert len(files) == len(set(files))
    assert all(os.path.basename(f).split("_")[0] in ("ptl", "cwd") for f in files), "street photos only"
    assert any(r["obstacles"] for r in rows) and any(r["obstacles"] == [] for r in rows)


@needs_real
def test_labels_name_photos_of_the_training_folder():
    splits = source_splits()
    for r in viewed_labels():
        assert r["file"] in splits, f"{r['file']}: not in {REAL_ROOT}/labels.jsonl"
    assert annotated(viewed_labels(), splits, "val"), "the val split's street photos are labelled"
    train = annotated(viewed_labels(), splits, "train")
    assert len(train) >= 200 and sum(len(r["obstacles"]) for r in train) >= 100


def test_a_malformed_label_is_refused_with_its_file_and_row(tmp_path):
    bad = tmp_path / "labels.jsonl"
    bad.write_text(json.dumps({"file": "images/ptl_0001.jpg", "origin": "viewed: x",
                               "obstacles": [{"kind": "dog", "position": "left", "distance": "near"}]}) + "\n")
    with pytest.raises(ValueError, match=r"labels.jsonl:1 \(images/ptl_0001.jpg\).*dog"):
        viewed_labels(str(bad))
    bad.write_text(json.dumps({"file": "images/ptl_0001.jpg", "origin": "viewed: x",
                               "obstacles": [{"kind": "car", "position": "left", "distance": "near"},
                                             {"kind": "car", "position": "left", "distance": "far"}]}) + "\n")
    with pytest.raises(ValueError, match="one per kind and position"):
        viewed_labels(str(bad))
    bad.write_text(json.dumps({"file": "images/ptl_0001.jpg", "obstacles": []}) + "\n")
    with pytest.raises(ValueError, match="origin"):
        viewed_labels(str(bad))


def test_score_pairs_kind_and_position_and_counts_calls_on_empty_photos():
    car_left = {"kind": "car", "position": "left", "distance": "near"}
    labels = [[car_left, {"kind": "pole", "position": "ahead", "distance": "far"}], [], []]
    predictions = [
        [{"kind": "car", "position": "left", "distance": "mid"}, {"kind": "car", "position": "right", "distance": "far"}],
        [{"kind": "sign", "position": "left", "distance": "near"}],
        [],
    ]
    s = score(labels, predictions)
    assert (s["matched"], s["labels"], s["predictions"]) == (1, 2, 3)
    assert s["recall"] == 0.5 and s["precision"] == pytest.approx(1 / 3)
    assert (s["photos_with_nothing_labelled"], s["calls_on_them"]) == (2, 1)
    assert s["by"]["kind car"] == {"recall": 1.0, "precision": 0.5, "labelled": 1, "predicted": 2}
    assert s["by"]["kind pole"]["recall"] == 0.0
    assert s["recall_by_distance"]["near"] == {"recall": 1.0, "labelled": 1}
    assert s["recall_by_distance"]["far"] == {"recall": 0.0, "labelled": 1}
    assert s["recall_by_distance"]["mid"] == {"recall": None, "labelled": 0}
    assert score([[]], [[]])["recall"] is None


@needs_real
def test_the_shipped_expert_on_the_val_split_reads_as_the_notes_say():
    from lttw.artifact import Predictor
    from lttw.preprocess import load_bgr
    predictor = Predictor("models/default")
    chosen = annotated(viewed_labels(), source_splits(), "val")
    s = score([r["obstacles"] for r in chosen],
              predictor.expert_obstacles([load_bgr(os.path.join(REAL_ROOT, r["file"])) for r in chosen]))
    # models/default/NOTES.md, 2026-12-07 night (the 160-px expert continued a fifth time): 21 photos,
    # none of the 7 labels found, no call on the split (the evening's expert: 1 of 7 by its one call;
    # the afternoon's: 0 of 7, no call; at 128 px: 0 of 7, 2 calls; the ViT expert: 1 of 7, 3 calls).
    assert (s["photos"], s["labels"], s["matched"], s["predictions"]) == (21, 7, 0, 0)
    assert VIEWED_LABELS.endswith("real_obstacles_viewed.jsonl")


def test_slot_targets_are_the_renders_slots():
    y = slot_targets([{"kind": "person", "position": "left", "distance": "near"},
                      {"kind": "pole", "position": "right", "distance": "far"},
                      {"kind": "cone", "position": "right", "distance": "far"}])
    assert y[slot_of(0, 0)] == 1 + OBSTACLE_KINDS.index("person")
    assert y[slot_of(2, 2)] == 1 + OBSTACLE_KINDS.index("pole"), "two labels in one slot keep the first"
    assert (y > 0).sum() == 2
    # Mirrored (the trainer's flip), the person stands on the right.
    assert y[FLIPPED_SLOT][slot_of(2, 0)] == 1 + OBSTACLE_KINDS.index("person")
    assert not slot_targets([]).any()


@needs_real
def test_training_photos_of_a_fold_leave_the_held_out_fold_out():
    from lttw.obstacle_expert_train import real_labelled
    from lttw.real_obstacles import in_fold
    sources, splits = source_rows(), source_splits()
    train = annotated(viewed_labels(), splits, "train")
    held = [r for r in train if in_fold(r["file"], sources, 0)]
    images, slots, tokens = real_labelled(32, 4, holdout_fold=0)
    assert len(images) == len(train) - len(held) > 0 and images.shape[1:] == (32, 32, 3)
    labelled = slots.any(1)
    assert (tokens[labelled] == -100).all() and (tokens[~labelled] == 0).all(), "no token truth where the labels have no boxes"
