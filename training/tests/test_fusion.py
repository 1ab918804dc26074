"""The poly-expert fusion (lttw.fusion): its ranking, its module, its loading, and the shipped model's
fused decoder against the facts."""
import json
import os

import numpy as np
import pytest
import torch

from conftest import REPO

MODEL = os.path.join(REPO, "models", "default")


def test_ranked_puts_the_likeliest_signal_first_and_the_earlier_candidate_on_ties():
    from lttw.fusion import ranked
    # p[:, 0] is "not a signal": signal scores 0.2, 0.9, 0.5, 0.9, 0.1
    p = np.array([[0.8], [0.1], [0.5], [0.1], [0.9]], np.float32)
    assert ranked(p, 4).tolist() == [1, 3, 2, 0]
    assert ranked(p, 2).tolist() == [1, 3]
    assert ranked(p[:1], 4).tolist() == [0]
    assert ranked(np.zeros((0, 1), np.float32), 4).tolist() == []


def test_a_rank_without_a_candidate_is_the_absent_token_whatever_its_row_holds():
    from lttw.fusion import ExpertFusion, FusionConfig
    torch.manual_seed(0)
    c = FusionConfig(dec_width=16, signal_tokens=3, signal_features=7, obstacle_slots=9, obstacle_classes=11)
    f = ExpertFusion(c).eval()
    signal = torch.randn(2, 3, 7)
    present = torch.tensor([[True, True, False], [False, False, False]])
    crossing = torch.rand(2, 8)
    obstacles = torch.rand(2, 9, 22)
    out = f(signal, present, crossing, obstacles)
    assert out.shape == (2, 3 + 1 + 9, 16) and c.tokens == 13
    absent = f.signal_absent + f.signal_rank
    torch.testing.assert_close(out[0, 2], absent[2])
    torch.testing.assert_close(out[1, :3], absent)
    # A present candidate's token depends on its row; another reading of one input changes its own tokens only.
    assert not torch.allclose(out[0, 0], absent[0])
    other = f(signal, present, crossing, torch.rand(2, 9, 22))
    torch.testing.assert_close(other[:, :4], out[:, :4])
    assert not torch.allclose(other[:, 4:], out[:, 4:])
    other = f(signal, present, torch.rand(2, 8), obstacles)
    torch.testing.assert_close(other[:, :3], out[:, :3])
    torch.testing.assert_close(other[:, 4:], out[:, 4:])
    assert not torch.allclose(other[:, 3], out[:, 3])


def test_fusion_weights_without_a_fusion_entry_are_refused():
    from lttw.fusion import load_fusion
    with pytest.raises(ValueError, match="fusion weights but no fusion"):
        load_fusion({}, {"fusion.signal_fc1.weight": torch.zeros(1)}, "some/model")
    assert load_fusion({}, {}, "some/model") is None
    with pytest.raises(ValueError, match="needs both a signal expert and an obstacle expert"):
        load_fusion({"fusion": {"architecture": {}}, "signal_expert": {}}, {}, "some/model")


def test_unbacked_claims_are_the_crossing_and_obstacle_sentences_the_facts_do_not_hold():
    from lttw.fusion_train import unbacked_claims
    facts = {"crosswalk": {"present": True, "offset": "left"},
             "obstacles": [{"kind": "car", "position": "right", "distance": "near"}]}
    assert unbacked_claims("Wait. Crosswalk ahead, slightly left. Car on your right, close.", facts) == []
    assert unbacked_claims("前方人行横道，略偏左。右侧有汽车，很近。", facts) == []
    assert unbacked_claims("Crosswalk ahead. Bicycle ahead, far.", facts) == ["Crosswalk ahead.", "Bicycle ahead, far."]
    # Signal sentences are not claims about the way (only the light's facts state the light).
    assert unbacked_claims("Walk signal on.", {"crosswalk": {"present": False}, "obstacles": []}) == []


def _shipped_fusion():
    with open(os.path.join(MODEL, "config.json")) as f:
        return json.load(f).get("fusion")


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")) or not _shipped_fusion(),
                    reason="the shipped model has no fusion")
def test_the_shipped_fused_decoder_says_what_its_facts_hold():
    """On generated scenes the training never saw (pytest seeds), the fused decoder's free captions
    claim a crossing or an obstacle the facts deny at most once in 64 (validation: 3 of 2,000; the
    decoder on the scene tokens alone, 653), and name the obstacles the facts hold; its memory is
    the scene tokens followed by the experts'."""
    from lttw.artifact import Predictor
    from lttw.captions import obstacle_text
    from lttw.fusion_train import unbacked_claims
    from lttw.generator import generate
    from lttw.preprocess import preprocess
    pred = Predictor(MODEL)
    scenes = [generate(9_310_000 + i).bgr for i in range(32)]
    x = torch.from_numpy(np.stack([preprocess(b, pred.size, pred.mean, pred.std) for b in scenes]))
    with torch.no_grad():
        _, head_logits, vis = pred.model.encode(x)
        mem = pred.decoder_memory(scenes, vis, pred.probs(head_logits))
    assert mem.shape == (32, vis.shape[1] + pred.model.fusion.c.tokens, vis.shape[2])
    torch.testing.assert_close(mem[:, :vis.shape[1]], vis)
    facts = pred.run_batch(scenes, constrained=False)
    contradicting = named = held = 0
    for f in facts:
        for lang in ("en", "zh"):
            contradicting += bool(unbacked_claims(f["captions"][lang], f))
        said = sorted(f["obstacles"], key=lambda o: -o["confidence"])[:2]
        held += len(said)
        named += sum(obstacle_text(o, "en") in f["captions"]["en"] for o in said)
    assert contradicting <= 1, [f["captions"] for f in facts if unbacked_claims(f["captions"]["en"], f)]
    assert held >= 8 and named >= 0.9 * held, (named, held)


@pytest.mark.skipif(not os.path.exists(os.path.join(MODEL, "config.json")) or not _shipped_fusion(),
                    reason="the shipped model has no fusion")
def test_the_onnx_fusion_gives_the_decoder_the_keys_and_values_pytorch_does(tmp_path):
    """The bench's ONNX Runtime peer runs the same fusion (onnx_export.FusionGraph)."""
    import onnxruntime as ort
    from lttw.artifact import load_artifact
    from lttw.onnx_export import export_fusion_onnx
    model, _, _ = load_artifact(MODEL)
    f = model.fusion.c
    path = export_fusion_onnx(MODEL, str(tmp_path))
    g = torch.Generator().manual_seed(0)
    vis = torch.randn(1, model.config.n_visual_tokens, model.config.dec_width, generator=g)
    signal = torch.randn(1, f.signal_tokens, f.signal_features, generator=g)
    present = torch.tensor([[True, True, False, False]])[:, :f.signal_tokens]
    crossing = torch.rand(1, f.crossing_features, generator=g)
    obstacles = torch.rand(1, f.obstacle_slots, 2 * f.obstacle_classes, generator=g)
    with torch.no_grad():
        memory = torch.cat([vis, model.fusion(signal, present, crossing, obstacles)], dim=1)
        expected = [t.numpy() for kv in model.decoder.cross_kv(memory) for t in kv]
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {
        "visual_tokens": vis.numpy(), "signal": signal.numpy(), "present": present.numpy(), "crossing": crossing.numpy(),
        "obstacles": obstacles.numpy()})
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-4
    # The exported decoder step reads the longer memory: <bos> <en> then its logits, as PyTorch's.
    from lttw.onnx_export import export_onnx
    from lttw.tokenizer import default_tokenizer
    tok = default_tokenizer()
    _, decoder_path = export_onnx(MODEL, str(tmp_path))
    step = ort.InferenceSession(decoder_path, providers=["CPUExecutionProvider"])
    n, heads, hd = model.config.dec_depth, model.config.dec_heads, model.config.dec_width // model.config.dec_heads
    feeds = {f"cross_{t}_{i}": got[2 * i + (0 if t == "k" else 1)] for i in range(n) for t in ("k", "v")}
    past = {f"past_{t}_{i}": np.zeros((1, heads, 0, hd), np.float32) for i in range(n) for t in ("k", "v")}
    for pos, token in enumerate((tok.bos, tok.lang_id["en"])):
        res = step.run(None, {"input_ids": np.array([[token]], np.int64), "position": np.array([pos], np.int64), **feeds, **past})
        past = {f"past_{t}_{i}": res[1 + 2 * i + (0 if t == "k" else 1)] for i in range(n) for t in ("k", "v")}
    with torch.no_grad():
        logits, _ = model.decoder(torch.tensor([[tok.bos, tok.lang_id["en"]]]), memory)
    assert np.abs(res[0][0, 0] - logits[0, -1].numpy()).max() < 1e-4


def test_the_decided_slots_are_the_obstacles_the_read_rule_gives():
    """decided_slots marks exactly the (slot, kind) pairs obstacle_expert.read returns, on random
    probabilities with ties and rivals of one side and kind."""
    from lttw.fusion import decided_slots, obstacle_rows
    from lttw.generator import DISTANCES, OBSTACLE_KINDS, POSITIONS
    from lttw.obstacle_expert import read
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.dirichlet(np.full(11, 0.3), size=9).astype(np.float32)
        p[4] = p[3]  # a tie between two slots of one side
        decided = decided_slots(p, 0.4)
        said = {(o["kind"], o["position"], o["distance"]) for o in read(p.astype(np.float64), 0.4)}
        assert said == {(OBSTACLE_KINDS[k - 1], POSITIONS[s // 3], DISTANCES[s % 3]) for s, k in enumerate(decided) if k}
        rows = obstacle_rows(p[None], 0.4)[0]
        np.testing.assert_array_equal(rows[:, :11], p)
        assert (rows[:, 11:].sum(1) == 1).all() and (rows[:, 11:].argmax(1) == decided).all()


def test_the_crossing_row_says_present_and_the_side_only_at_the_threshold():
    from lttw.fusion import crossing_rows
    rows = crossing_rows(np.array([[0.3, 0.7], [0.6, 0.4]], np.float32),
                         np.array([[0.2, 0.2, 0.6], [0.5, 0.3, 0.2]], np.float32), 0.5)
    np.testing.assert_allclose(rows[0], [0.7, 0.2, 0.2, 0.6, 1, 0, 0, 1])
    np.testing.assert_allclose(rows[1], [0.4, 0.5, 0.3, 0.2, 0, 0, 0, 0])


def test_two_processes_train_the_fusion_with_identical_weights(tmp_path):
    """`torchrun --nproc_per_node 2 -m lttw.fusion_train train` (gloo): each rank reads half of every
    batch, DDP averages the gradients, and the ranks end with the same weights, moved from where
    they started."""
    import socket
    import subprocess
    import sys
    from lttw.artifact import load_artifact
    from lttw.fusion_train import _extract_chunk
    root = tmp_path / "data"
    (root / "train").mkdir(parents=True)
    (root / "val").mkdir()
    _extract_chunk((MODEL, list(range(9_320_000, 9_320_008)), str(root / "train" / "chunk_00000.npz")))
    _extract_chunk((MODEL, list(range(9_320_100, 9_320_102)), str(root / "val" / "chunk_00000.npz")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ddp_fusion_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port), worker,
           str(tmp_path), "train", "--model", MODEL, "--root", str(root), "--run_dir", str(tmp_path / "run"), "--epochs", "1",
           "--batch", "4", "--warmup", "1", "--eval_every", "1", "--threads", "1", "--no_report"]
    r = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1"), capture_output=True,
                       text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    shipped, _, _ = load_artifact(MODEL)
    start = shipped.decoder.state_dict()
    assert max(float((a["decoder." + k] - v).abs().max()) for k, v in start.items()) > 0, "the decoder did not move"
    assert (tmp_path / "run" / "best.pt").exists()
