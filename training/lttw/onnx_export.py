"""ONNX export of a model artifact: encoder+heads and a "decoder with past key/values" step graph.

  python -m lttw.onnx_export --model models/default --out training/runs/onnx/default [--check]

encoder.onnx
  in : pixel_values float32 [B,3,S,S]  (preprocess() output)
  out: one logits tensor per head (names = head names, uncalibrated logits), visual_tokens [B,Tv,Dd],
       cross_k_{i}, cross_v_{i} [B,H,Tv,hd] for each decoder layer i
decoder_with_past.onnx (one token per call)
  in : input_ids int64 [B,1], position int64 [1] (0-based position of this token),
       cross_k_{i}, cross_v_{i}, past_k_{i}, past_v_{i} [B,H,P,hd] (P may be 0 on the first call)
  out: logits [B,1,V], present_k_{i}, present_v_{i} [B,H,P+1,hd]
Decoding: feed <bos> at position 0 with empty past, then <lang> at position 1, then the argmax token...
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn

from .artifact import load_artifact
from .model import HEADS


class EncoderGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, pixel_values):
        tokens, hl, vis = self.m.encode(pixel_values)
        outs = [hl[k] for k in HEADS] + [vis]
        # With fusion the decoder attends to more than the scene tokens: FusionGraph gives its keys
        # and values once the experts have read the frame.
        if self.m.fusion is None:
            for k, v in self.m.decoder.cross_kv(vis):
                outs += [k, v]
        return tuple(outs)


class DecoderStepGraph(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.d = model.decoder
        self.n = len(self.d.blocks)

    def forward(self, input_ids, position, *kv):
        n = self.n
        cross = [(kv[2 * i], kv[2 * i + 1]) for i in range(n)]
        past = [(kv[2 * n + 2 * i], kv[2 * n + 2 * i + 1]) for i in range(n)]
        x = self.d.wte(input_ids) + self.d.wpe(position)[None]
        presents = []
        for i, b in enumerate(self.d.blocks):
            a, pr = b.attn(b.ln1(x), causal=False, past=past[i])  # one token attends to all past: no mask
            x = x + a
            x = x + b.cross(b.ln2(x), cross[i])
            x = x + b.mlp(b.ln3(x))
            presents += [pr[0], pr[1]]
        return (self.d.logits(x), *presents)


def export_onnx(model_dir, out_dir, opset=17):
    model, cfg, tok = load_artifact(model_dir)
    c = model.config
    os.makedirs(out_dir, exist_ok=True)
    n = c.dec_depth
    H, hd, Tv = c.dec_heads, c.dec_width // c.dec_heads, c.n_visual_tokens
    x = torch.zeros(1, 3, c.image_size, c.image_size)
    enc_out = list(HEADS) + ["visual_tokens"] + ([f"cross_{t}_{i}" for i in range(n) for t in ("k", "v")]
                                                 if model.fusion is None else [])
    dyn = {"pixel_values": {0: "batch"}}
    dyn.update({k: {0: "batch"} for k in enc_out})
    enc_path = os.path.join(out_dir, "encoder.onnx")
    torch.onnx.export(EncoderGraph(model), (x,), enc_path, input_names=["pixel_values"], output_names=enc_out,
                      dynamic_axes=dyn, opset_version=opset, dynamo=False, do_constant_folding=True)
    ids = torch.tensor([[tok.bos]])
    pos = torch.tensor([3])
    cross = [torch.randn(1, H, Tv, hd) for _ in range(2 * n)]
    past = [torch.randn(1, H, 3, hd) for _ in range(2 * n)]
    in_names = ["input_ids", "position"] + [f"cross_{t}_{i}" for i in range(n) for t in ("k", "v")] + \
               [f"past_{t}_{i}" for i in range(n) for t in ("k", "v")]
    out_names = ["logits"] + [f"present_{t}_{i}" for i in range(n) for t in ("k", "v")]
    dyn = {"input_ids": {0: "batch"}, "logits": {0: "batch"}}
    for nm in in_names[2:]:
        # The memory's length varies too: the scene tokens, or with fusion the experts' after them.
        dyn[nm] = {0: "batch", 2: "past_len"} if nm.startswith("past") else {0: "batch", 2: "memory"}
    for nm in out_names[1:]:
        dyn[nm] = {0: "batch", 2: "total_len"}
    dec_path = os.path.join(out_dir, "decoder_with_past.onnx")
    torch.onnx.export(DecoderStepGraph(model), (ids, pos, *cross, *past), dec_path, input_names=in_names,
                      output_names=out_names, dynamic_axes=dyn, opset_version=opset, dynamo=False, do_constant_folding=True)
    return enc_path, dec_path


class SignalReaderGraph(torch.nn.Module):
    """crops [N,3,S,S], geometry [N,5] -> calibrated class probabilities [N,classes] and
    embeddings [N,2·width]."""

    def __init__(self, reader, temperature):
        super().__init__()
        self.reader = reader
        self.temperature = float(temperature)

    def forward(self, crops, geometry):
        f = self.reader.features(crops)
        return torch.softmax(self.reader.head(f, geometry) / self.temperature, -1), f


def export_signal_onnx(model_dir, out_dir, opset=17):
    """The signal expert's crop reader, or None when the model has none."""
    model, cfg, _ = load_artifact(model_dir)
    if model.signal_expert is None:
        return None
    se = cfg["signal_expert"]
    size = se["architecture"]["crop_size"]
    path = os.path.join(out_dir, "signal_reader.onnx")
    torch.onnx.export(SignalReaderGraph(model.signal_expert, se["temperature"]), (torch.zeros(3, 3, size, size), torch.zeros(3, 5)),
                      path, input_names=["crops", "geometry"], output_names=["probabilities", "features"],
                      dynamic_axes={"crops": {0: "n"}, "geometry": {0: "n"}, "probabilities": {0: "n"}, "features": {0: "n"}},
                      opset_version=opset, dynamo=False, do_constant_folding=True)
    return path


class ObstacleExpertGraph(torch.nn.Module):
    """frame [1,3,S,S] -> calibrated slot probabilities [1, slots, 1 + kinds]."""

    def __init__(self, expert, temperature):
        super().__init__()
        self.expert = expert
        self.temperature = float(temperature)

    def forward(self, frame):
        return torch.softmax(self.expert(frame) / self.temperature, -1)


def export_obstacle_onnx(model_dir, out_dir, opset=17):
    """The obstacle expert, or None when the model has none."""
    model, cfg, _ = load_artifact(model_dir)
    if model.obstacle_expert is None:
        return None
    oe = cfg["obstacle_expert"]
    size = oe["architecture"]["image_size"]
    path = os.path.join(out_dir, "obstacle_expert.onnx")
    torch.onnx.export(ObstacleExpertGraph(model.obstacle_expert, oe["temperature"]), (torch.zeros(1, 3, size, size),),
                      path, input_names=["frame"], output_names=["probabilities"], opset_version=opset, dynamo=False,
                      do_constant_folding=True)
    return path


def ort_greedy(enc_sess, dec_sess, pixel_values, lang_id, bos, eos, n_layers, heads, head_dim, max_len=64):
    outs = enc_sess.run(None, {"pixel_values": pixel_values})
    names = [o.name for o in enc_sess.get_outputs()]
    o = dict(zip(names, outs))
    B = pixel_values.shape[0]
    feeds = {f"cross_{t}_{i}": o[f"cross_{t}_{i}"] for i in range(n_layers) for t in ("k", "v")}
    past = {f"past_{t}_{i}": np.zeros((B, heads, 0, head_dim), np.float32) for i in range(n_layers) for t in ("k", "v")}
    seq, logits_steps = [], []
    tokens = [np.full((B, 1), bos, np.int64), np.full((B, 1), lang_id, np.int64)]
    pos = 0
    cur = tokens[0]
    while True:
        res = dec_sess.run(None, {"input_ids": cur, "position": np.array([pos], np.int64), **feeds, **past})
        logits = res[0]
        past = {f"past_{t}_{i}": res[1 + 2 * i + (0 if t == "k" else 1)] for i in range(n_layers) for t in ("k", "v")}
        pos += 1
        if pos == 1:
            cur = tokens[1]
            continue
        logits_steps.append(logits[:, 0])
        nxt = logits[:, 0].argmax(-1)
        seq.append(nxt)
        if (nxt == eos).all() or pos >= max_len:
            break
        cur = nxt[:, None].astype(np.int64)
    return o, np.stack(seq, 1), np.stack(logits_steps, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--out", default="training/runs/onnx/default")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    e, d = export_onnx(a.model, a.out)
    parts = [p for p in (export_signal_onnx(a.model, a.out), export_obstacle_onnx(a.model, a.out),
                         export_fusion_onnx(a.model, a.out)) if p]
    print("wrote", e, d, *parts)
    if a.check and load_artifact(a.model)[0].fusion is not None:
        raise SystemExit("--check captions from the scene tokens alone; this model's decoder attends to its experts too "
                         "(training/tests/test_fusion.py checks fusion.onnx and the decoder on its memory)")
    if a.check:
        import onnxruntime as ort
        from .generator import generate
        from .preprocess import preprocess
        model, cfg, tok = load_artifact(a.model)
        c = model.config
        x = np.stack([preprocess(generate(9_600_000 + i).bgr, c.image_size) for i in range(2)])
        so = ort.SessionOptions(); so.intra_op_num_threads = 2
        es = ort.InferenceSession(e, so, providers=["CPUExecutionProvider"])
        ds = ort.InferenceSession(d, so, providers=["CPUExecutionProvider"])
        o, seq, lg = ort_greedy(es, ds, x, tok.lang_id["en"], tok.bos, tok.eos, c.dec_depth, c.dec_heads, c.dec_width // c.dec_heads)
        with torch.no_grad():
            _, hl, vis = model.encode(torch.from_numpy(x))
            tseq, tlg = model.generate(vis, tok.lang_id["en"], tok.bos, tok.eos, return_logits=True)
        diff = max(float(np.abs(o[k] - hl[k].numpy()).max()) for k in HEADS)
        ldiff, same = 0.0, True
        for b in range(x.shape[0]):  # compare up to and including each sample's <eos>
            ts = tseq[b].tolist()
            n = ts.index(tok.eos) + 1 if tok.eos in ts else len(ts)
            n = min(n, lg.shape[1])
            ldiff = max(ldiff, float(np.abs(lg[b, :n] - tlg[b, :n].numpy()).max()))
            same &= seq[b, :n].tolist() == ts[:n]
        print(f"heads max abs diff {diff:.2e}; decoder logits max abs diff (up to <eos>) {ldiff:.2e}; same tokens: {same}")


if __name__ == "__main__":
    main()


class FusionGraph(torch.nn.Module):
    """visual tokens [1,Tv,D], signal rows [1,K,F], present [1,K] (bool), the crossing's row [1,8]
    (fusion.crossing_rows), the obstacle slots' rows [1,S,2C] (fusion.obstacle_rows) -> every
    decoder layer's cross-attention keys and values on the fused memory (lttw.fusion)."""

    def __init__(self, model):
        super().__init__()
        # Registered here: the model keeps its fusion beside it, not as a submodule.
        self.fusion = model.fusion
        self.decoder = model.decoder

    def forward(self, visual_tokens, signal, present, crossing, obstacles):
        memory = torch.cat([visual_tokens, self.fusion(signal, present, crossing, obstacles)], dim=1)
        out = []
        for k, v in self.decoder.cross_kv(memory):
            out += [k, v]
        return tuple(out)


def export_fusion_onnx(model_dir, out_dir, opset=17):
    """The experts' fusion with the decoder's cross keys and values, or None when the model has none."""
    model, _, _ = load_artifact(model_dir)
    fusion = model.fusion
    if fusion is None:
        return None
    c, f = model.config, fusion.c
    path = os.path.join(out_dir, "fusion.onnx")
    inputs = (torch.zeros(1, c.n_visual_tokens, c.dec_width), torch.zeros(1, f.signal_tokens, f.signal_features),
              torch.ones(1, f.signal_tokens, dtype=torch.bool), torch.zeros(1, f.crossing_features),
              torch.zeros(1, f.obstacle_slots, 2 * f.obstacle_classes))
    names = [f"cross_{t}_{i}" for i in range(c.dec_depth) for t in ("k", "v")]
    torch.onnx.export(FusionGraph(model), inputs, path, input_names=["visual_tokens", "signal", "present", "crossing", "obstacles"],
                      output_names=names, opset_version=opset, dynamo=False, do_constant_folding=True)
    return path
