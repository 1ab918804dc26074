"""The peers of the Swift engine, timed on the same model, images and thread count.

  python -m lttw.bench --model models/default --images samples --threads 2 --frames 30 --json

Runs the model artifact through PyTorch (inference mode) and through ONNX Runtime with graph
optimisations on and the decoder exported "with past" (one token per call, KV cache in and out),
frame by frame as a wearable would: preprocess, encoder + heads + projector (+ cross-attention
keys/values), the signal expert (lamp proposals in numpy — the reference, not a fast peer — then
all candidate crops read in one batch: `signal_reader` times that batch alone), the obstacle expert (its own
preprocessing at its input size, then the expert; `obstacles`), with fusion the experts' tokens joined to the
visual tokens and the decoder's cross-attention keys and values on them (`fusion`), then greedy captioning (with --beams N also beam search, PyTorch only). Prints per-stage p50/p95 in milliseconds as JSON, which
`listen bench` reads to print ratios against the Swift engine.
"""
import argparse
import glob
import json
import os
import tempfile
import time

import numpy as np
import torch

from .artifact import load_artifact
from . import lamps
from .fusion import crossing_rows, obstacle_rows, signal_rows
from .onnx_export import export_fusion_onnx, export_obstacle_onnx, export_onnx, export_signal_onnx
from .preprocess import load_bgr, preprocess

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def percentiles(samples_ms):
    a = np.asarray(samples_ms, np.float64)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)), "mean": float(a.mean()), "n": int(a.size)}


def list_images(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(f for f in glob.glob(os.path.join(p, "**", "*"), recursive=True) if f.lower().endswith(IMAGE_EXTENSIONS))
        else:
            files.append(p)
    if not files:
        raise SystemExit(f"bench: no images under {paths}")
    return files


def calibrated(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = np.asarray(logits, np.float32) / np.float32(temperature)
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def crossing_row(crosswalk: np.ndarray, offset: np.ndarray, temperatures, threshold: float) -> np.ndarray:
    """The fusion's crossing input [1, 8] from the heads' logits (fusion.crossing_rows)."""
    return crossing_rows(calibrated(crosswalk, temperatures.get("crosswalk", 1.0)),
                         calibrated(offset, temperatures.get("crosswalk_offset", 1.0)), threshold)


@torch.inference_mode()
def bench_pytorch(model, tok, bgr_images, size, mean, std, frames, warmup, lang, beams=1, temperatures=None,
                  thresholds=None):
    """`temperatures`: the scene heads' (config.json's calibration), the signal reader's
    ("signal_expert") and the obstacle expert's ("obstacle_expert"); `thresholds`: the crosswalk's
    and the obstacle expert's ("crosswalk", "obstacle"): the calibrated probabilities and the facts
    decided from them are what a model with fusion feeds its decoder."""
    temperatures = temperatures or {}
    stages = {k: [] for k in ("preprocess", "encoder", "heads", "projector", "signal", "signal_reader", "obstacles",
                              "fusion", "decoder_token", "caption", "caption_beam", "frame")}
    expert = model.obstacle_expert
    fusion = model.fusion
    reader = model.signal_expert
    tokens_per_caption = []
    lang_id = tok.lang_id[lang]
    dec = model.decoder
    for i in range(warmup + frames):
        bgr = bgr_images[i % len(bgr_images)]
        t0 = time.perf_counter()
        x = torch.from_numpy(preprocess(bgr, size, mean, std))[None]
        t1 = time.perf_counter()
        tokens = model.encoder(x)
        t2 = time.perf_counter()
        head_logits = model.heads(tokens)
        t3 = time.perf_counter()
        vis = model.projector(tokens)
        # With fusion the decoder's memory waits for the experts (below).
        ckv = dec.cross_kv(vis) if fusion is None else None
        t3b = time.perf_counter()
        reader_ms = None
        rows = None
        if reader is not None:
            rgb = np.ascontiguousarray(bgr[..., ::-1])
            cands = lamps.propose(rgb)
            k = fusion.c.signal_tokens if fusion is not None else 0
            rows = (np.zeros((k, fusion.c.signal_features), np.float32), np.zeros(k, bool)) if fusion is not None else None
            if cands:
                crops = torch.from_numpy(lamps.read_crops(rgb, cands, mean, std))
                geometry = torch.from_numpy(lamps.read_geometry(cands, rgb.shape[1], rgb.shape[0]))
                r0 = time.perf_counter()
                features = reader.features(crops)
                p = torch.softmax(reader.head(features, geometry) / temperatures.get("signal_expert", 1.0), -1)
                reader_ms = (time.perf_counter() - r0) * 1e3
                if fusion is not None:
                    rows = signal_rows(features.numpy(), geometry.numpy(), p.numpy(), k)
        t3c = time.perf_counter()
        if expert is not None:
            slots = torch.softmax(expert(torch.from_numpy(preprocess(bgr, expert.c.image_size, mean, std))[None])
                                  / temperatures.get("obstacle_expert", 1.0), -1)
        t4 = time.perf_counter()
        memory = vis
        if fusion is not None:
            crossing = crossing_row(head_logits["crosswalk"].numpy(), head_logits["crosswalk_offset"].numpy(), temperatures,
                                    thresholds["crosswalk"])
            memory = torch.cat([vis, fusion(torch.from_numpy(rows[0])[None], torch.from_numpy(rows[1])[None],
                                            torch.from_numpy(crossing),
                                            torch.from_numpy(obstacle_rows(slots.numpy(), thresholds["obstacle"])))], dim=1)
            ckv = dec.cross_kv(memory)
        t4b = time.perf_counter()
        ids = torch.tensor([[tok.bos, lang_id]])
        logits, past = dec(ids, cross_kv=ckv)
        steps, pos, n_tok = [], 2, 0
        while True:
            nxt = int(logits[0, -1].argmax())
            n_tok += 1
            if nxt == tok.eos or pos >= model.config.dec_max_len:
                break
            s = time.perf_counter()
            logits, past = dec(torch.tensor([[nxt]]), cross_kv=ckv, past=past, start_pos=pos)
            steps.append((time.perf_counter() - s) * 1e3)
            pos += 1
        t5 = time.perf_counter()
        if beams > 1:  # not part of the frame, as in `listen bench --beams`
            model.beam_search(memory, lang_id, tok.bos, tok.eos, beams)
        t6 = time.perf_counter()
        if i >= warmup:
            if beams > 1:
                stages["caption_beam"].append((t6 - t5) * 1e3)
            stages["preprocess"].append((t1 - t0) * 1e3)
            stages["encoder"].append((t2 - t1) * 1e3)
            stages["heads"].append((t3 - t2) * 1e3)
            stages["projector"].append((t3b - t3) * 1e3)
            if model.signal_expert is not None:
                stages["signal"].append((t3c - t3b) * 1e3)
            if expert is not None:
                stages["obstacles"].append((t4 - t3c) * 1e3)
            if model.signal_expert is not None:
                if reader_ms is not None:
                    stages["signal_reader"].append(reader_ms)
            if fusion is not None:
                stages["fusion"].append((t4b - t4) * 1e3)
            stages["decoder_token"] += steps
            stages["caption"].append((t5 - t4b) * 1e3)
            stages["frame"].append((t5 - t0) * 1e3)
            tokens_per_caption.append(n_tok)
    out = {k: percentiles(v) for k, v in stages.items() if v}
    out["tokens_per_caption"] = float(np.mean(tokens_per_caption))
    return out


def bench_onnxruntime(onnx_dir, model, tok, bgr_images, size, mean, std, frames, warmup, threads, lang, temperatures=None,
                      thresholds=None):
    """With fusion, fusion.onnx turns the visual tokens and the experts' outputs into the
    decoder's cross-attention keys and values (onnx_export.FusionGraph)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    enc = ort.InferenceSession(os.path.join(onnx_dir, "encoder.onnx"), so, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(os.path.join(onnx_dir, "decoder_with_past.onnx"), so, providers=["CPUExecutionProvider"])
    signal_path = os.path.join(onnx_dir, "signal_reader.onnx")
    reader = ort.InferenceSession(signal_path, so, providers=["CPUExecutionProvider"]) if os.path.exists(signal_path) else None
    obstacle_path = os.path.join(onnx_dir, "obstacle_expert.onnx")
    obstacles = ort.InferenceSession(obstacle_path, so, providers=["CPUExecutionProvider"]) if os.path.exists(obstacle_path) else None
    temperatures = temperatures or {}
    fusion = model.fusion
    fuse = ort.InferenceSession(os.path.join(onnx_dir, "fusion.onnx"), so, providers=["CPUExecutionProvider"]) if fusion is not None else None
    c = model.config
    n, heads, hd = c.dec_depth, c.dec_heads, c.dec_width // c.dec_heads
    names = [o.name for o in enc.get_outputs()]
    stages = {k: [] for k in ("preprocess", "encoder_heads_projector", "signal", "signal_reader", "obstacles", "fusion",
                              "decoder_token", "caption", "frame")}
    lang_id = tok.lang_id[lang]
    for i in range(warmup + frames):
        bgr = bgr_images[i % len(bgr_images)]
        t0 = time.perf_counter()
        x = preprocess(bgr, size, mean, std)[None]
        t1 = time.perf_counter()
        o = dict(zip(names, enc.run(None, {"pixel_values": x})))
        t1b = time.perf_counter()
        reader_ms = None
        if reader is not None:
            rgb = np.ascontiguousarray(bgr[..., ::-1])
            cands = lamps.propose(rgb)
            if fusion is not None:
                k = fusion.c.signal_tokens
                rows = (np.zeros((k, fusion.c.signal_features), np.float32), np.zeros(k, bool))
            if cands:
                crops = lamps.read_crops(rgb, cands, mean, std)
                geometry = lamps.read_geometry(cands, rgb.shape[1], rgb.shape[0])
                r0 = time.perf_counter()
                p, features = reader.run(None, {"crops": crops, "geometry": geometry})
                reader_ms = (time.perf_counter() - r0) * 1e3
                if fusion is not None:
                    rows = signal_rows(features, geometry, p, k)
        t1c = time.perf_counter()
        if obstacles is not None:
            size_o = model.obstacle_expert.c.image_size
            slots = obstacles.run(None, {"frame": preprocess(bgr, size_o, mean, std)[None]})[0]
        t2a = time.perf_counter()
        if fusion is not None:
            fused = fuse.run(None, {"visual_tokens": o["visual_tokens"], "signal": rows[0][None], "present": rows[1][None],
                                    "crossing": crossing_row(o["crosswalk"], o["crosswalk_offset"], temperatures,
                                                             thresholds["crosswalk"]),
                                    "obstacles": obstacle_rows(slots, thresholds["obstacle"])})
            feeds = {f"cross_{t}_{j}": fused[2 * j + (0 if t == "k" else 1)] for j in range(n) for t in ("k", "v")}
        else:
            feeds = {f"cross_{t}_{j}": o[f"cross_{t}_{j}"] for j in range(n) for t in ("k", "v")}
        t2 = time.perf_counter()
        past = {f"past_{t}_{j}": np.zeros((1, heads, 0, hd), np.float32) for j in range(n) for t in ("k", "v")}
        steps = []
        pos = 0
        cur = np.array([[tok.bos]], np.int64)
        while True:
            s = time.perf_counter()
            res = dec.run(None, {"input_ids": cur, "position": np.array([pos], np.int64), **feeds, **past})
            if pos >= 2:
                steps.append((time.perf_counter() - s) * 1e3)
            past = {f"past_{t}_{j}": res[1 + 2 * j + (0 if t == "k" else 1)] for j in range(n) for t in ("k", "v")}
            pos += 1
            if pos == 1:
                cur = np.array([[lang_id]], np.int64)
                continue
            nxt = int(res[0][0, 0].argmax())
            if nxt == tok.eos or pos >= c.dec_max_len:
                break
            cur = np.array([[nxt]], np.int64)
        t3 = time.perf_counter()
        if i >= warmup:
            stages["preprocess"].append((t1 - t0) * 1e3)
            stages["encoder_heads_projector"].append((t1b - t1) * 1e3)
            if obstacles is not None:
                stages["obstacles"].append((t2a - t1c) * 1e3)
            if fusion is not None:
                stages["fusion"].append((t2 - t2a) * 1e3)
            if reader is not None:
                stages["signal"].append((t1c - t1b) * 1e3)
                if reader_ms is not None:
                    stages["signal_reader"].append(reader_ms)
            stages["decoder_token"] += steps
            stages["caption"].append((t3 - t2) * 1e3)
            stages["frame"].append((t3 - t0) * 1e3)
    return {k: percentiles(v) for k, v in stages.items() if v}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--images", nargs="+", default=["samples"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lang", default="en", choices=["en", "zh"])
    ap.add_argument("--beams", type=int, default=1, help="also time beam search of this width (PyTorch only)")
    ap.add_argument("--onnx-dir", default=None, help="reuse an export (default: export to a temporary folder)")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    model, cfg, tok = load_artifact(a.model)
    pre = cfg["preprocessing"]
    size = pre["input_size"]
    mean = np.asarray(pre["mean"], np.float32)
    std = np.asarray(pre["std"], np.float32)
    images = [load_bgr(f) for f in list_images(a.images)]

    result = {"threads": a.threads, "frames": a.frames, "images": len(images), "torch": torch.__version__}
    temperatures = dict(cfg["calibration"]["temperatures"])
    if cfg.get("signal_expert"):
        temperatures["signal_expert"] = cfg["signal_expert"]["temperature"]
    if cfg.get("obstacle_expert"):
        temperatures["obstacle_expert"] = cfg["obstacle_expert"]["temperature"]
    thresholds = {"crosswalk": cfg["thresholds"]["crosswalk"],
                  "obstacle": cfg["obstacle_expert"]["threshold"] if cfg.get("obstacle_expert") else 0.5}
    result["pytorch"] = bench_pytorch(model, tok, images, size, mean, std, a.frames, a.warmup, a.lang, a.beams, temperatures,
                                      thresholds)
    with tempfile.TemporaryDirectory() as scratch:
        onnx_dir = a.onnx_dir or scratch
        if not os.path.exists(os.path.join(onnx_dir, "encoder.onnx")):
            export_onnx(a.model, onnx_dir)
            export_signal_onnx(a.model, onnx_dir)
            export_obstacle_onnx(a.model, onnx_dir)
        if model.fusion is not None and not os.path.exists(os.path.join(onnx_dir, "fusion.onnx")):
            export_fusion_onnx(a.model, onnx_dir)
        import onnxruntime as ort
        result["onnxruntime_version"] = ort.__version__
        result["onnxruntime"] = bench_onnxruntime(onnx_dir, model, tok, images, size, mean, std, a.frames, a.warmup,
                                                  a.threads, a.lang, temperatures, thresholds)
    text = json.dumps(result, indent=None if a.json else 1)
    print(text)


if __name__ == "__main__":
    main()
