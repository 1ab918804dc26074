"""Reference fixtures for the Swift engine: Tests/Fixtures/reference/.

  PYTHONPATH=training .venv/bin/python -m lttw.fixtures --model models/default --out Tests/Fixtures/reference
  (add --beam-only to rewrite only beam.json and constrained.json)

For each of 4 generated scenes (PNG, lossless, so decoding is exact on both sides):
  <name>.png                     input image (BGR file as written by cv2.imwrite)
  <name>.resized_rgb.npy         uint8  [S,S,3]   INTER_AREA resize of the RGB image (before normalisation)
  <name>.input.npy               float32 [1,3,S,S] preprocess() output
  <name>.encoder.npy             float32 [1,1+N,De] encoder output after the final LayerNorm (CLS first)
  <name>.visual_tokens.npy       float32 [1,Tv,Dd] projector output
  <name>.decoder_memory.npy      float32 [1,Tm,Dd] what the decoder attends to: the visual tokens, then (a
                                 model with fusion) the experts' tokens (lttw.fusion); the visual tokens alone without
  <name>.heads.json              raw logits and calibrated probabilities per head, the decided facts
  <name>.decoder_logits_en.npy   float32 [K,V] logits of the first K greedy steps, English
  <name>.decoder_logits_zh.npy   float32 [K,V] same for Mandarin
index.json describes every file, the decoding protocol and the greedy captions / token ids.
beam.json holds beam-search captions / token ids (StreetVLM.beam_search, GNMT alpha 0.6) for the
same scenes, widths BEAM_WIDTHS, both languages; `--beam-only` rewrites just that file.
constrained.json holds the same scenes' captions held to facts (caption_constraint.py), greedy and
beam width 3, both languages: to the facts the whole pipeline reads (Predictor.run_batch) and to
GIVEN_FACTS, facts other than the scene's, which make the constraint change what the decoder says.
"""
import argparse
import json
import os
from typing import Dict

import cv2
import numpy as np
import torch

from .artifact import Predictor
from .caption_constraint import allowed_sentences
from .generator import generate
from .preprocess import preprocess, resize_small

SEEDS = [("red_pedestrian", 3_100_000), ("green_pedestrian", 3_100_001), ("vehicle_light", 3_100_002),
         ("crosswalk_obstacles", 3_100_003)]
K_STEPS = 4
BEAM_WIDTHS = (3, 5)
LENGTH_PENALTY = 0.6
CONSTRAINED_BEAM = 3


def _facts(state, kind=None, position=None, crosswalk=None, obstacles=()):
    """Facts in the schema of DESIGN.md (what Swift's SceneFacts decodes)."""
    light = {"state": state, "confidence": 0.9}
    if kind:
        light.update(kind=kind, position=position)
    cw = {"present": crosswalk is not None, "confidence": 0.9}
    if crosswalk:
        cw["offset"] = crosswalk
    return {"time": 0, "light": light, "crosswalk": cw,
            "obstacles": [{"kind": k, "position": p, "distance": d, "confidence": 0.9} for k, p, d in obstacles]}


# One per scene, unlike each scene's own: the light, the crossing and the obstacles all differ.
GIVEN_FACTS = [
    _facts("green", "pedestrian", "left", crosswalk="right", obstacles=[("bin", "left", "far")]),
    _facts("red", "vehicle", "right", obstacles=[("person", "ahead", "near"), ("car", "right", "mid")]),
    _facts("unknown", crosswalk="ahead"),
    _facts("none", crosswalk="left", obstacles=[("tree", "left", "far"), ("cone", "ahead", "near")]),
]


def pick(seed0, pred, long_side=320):
    s = seed0
    while True:
        sc = generate(s, long_side=long_side)
        if pred(sc.facts) and not sc.facts["conditions"].get("grayscale"):
            return s, sc
        s += 1


PREDS = {
    "red_pedestrian": lambda f: f["light"]["state"] == "red" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup",
    "green_pedestrian": lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "street",
    "vehicle_light": lambda f: f["light"]["state"] == "yellow" and f["conditions"]["framing"] != "tiny",
    "crosswalk_obstacles": lambda f: f["light"]["state"] == "none" and f["crosswalk"]["present"] and len(f["obstacles"]) >= 1,
}


@torch.no_grad()
def make(model_dir, out):
    os.makedirs(out, exist_ok=True)
    P = Predictor(model_dir)
    m, tok, S = P.model, P.tok, P.size
    index = {"model": os.path.relpath(model_dir), "format": "numpy .npy (little-endian, C order) and JSON",
             "decoding_protocol": (f"decoder input starts as [<bos>, <lang>] at positions 0,1; step 0 logits = output at "
                                   f"position 1; then greedy: append argmax, step t logits = output at position t+1. "
                                   f"{K_STEPS} steps stored."),
             "tolerance_hint": {"input": "exact (bit-identical)", "encoder": "abs 1e-4", "logits": "abs 1e-3"},
             "samples": []}
    for name, seed0 in SEEDS:
        seed, sc = pick(seed0, PREDS[name])
        png = f"{name}.png"
        cv2.imwrite(os.path.join(out, png), sc.bgr)
        bgr = cv2.imread(os.path.join(out, png), cv2.IMREAD_COLOR)
        small = resize_small(bgr, S)
        x = preprocess(bgr, S, P.mean, P.std)[None]
        xt = torch.from_numpy(x)
        enc = m.encoder(xt)
        hl = m.heads(enc)
        vis = m.projector(enc)
        probs = P.probs(hl)
        facts = P.facts_from_probs(probs, 0)
        files = {"image": png}
        np.save(os.path.join(out, f"{name}.resized_rgb.npy"), small); files["resized_rgb"] = f"{name}.resized_rgb.npy"
        np.save(os.path.join(out, f"{name}.input.npy"), x); files["input"] = f"{name}.input.npy"
        np.save(os.path.join(out, f"{name}.encoder.npy"), enc.numpy()); files["encoder"] = f"{name}.encoder.npy"
        np.save(os.path.join(out, f"{name}.visual_tokens.npy"), vis.numpy()); files["visual_tokens"] = f"{name}.visual_tokens.npy"
        mem = P.decoder_memory([bgr], vis, probs)
        np.save(os.path.join(out, f"{name}.decoder_memory.npy"), mem.numpy()); files["decoder_memory"] = f"{name}.decoder_memory.npy"
        heads = {"logits": {k: v[0].tolist() for k, v in hl.items()},
                 "probabilities_calibrated": {k: np.asarray(v[0]).tolist() for k, v in probs.items()},
                 "facts": facts}
        with open(os.path.join(out, f"{name}.heads.json"), "w") as f:
            json.dump(heads, f, indent=1)
        files["heads"] = f"{name}.heads.json"
        caps, ids_out = {}, {}
        for lang in ("en", "zh"):
            seq, lg = m.generate(mem, tok.lang_id[lang], tok.bos, tok.eos, return_logits=True)
            np.save(os.path.join(out, f"{name}.decoder_logits_{lang}.npy"), lg[0, :K_STEPS].numpy().astype(np.float32))
            files[f"decoder_logits_{lang}"] = f"{name}.decoder_logits_{lang}.npy"
            ids = seq[0].tolist()
            ids = ids[:ids.index(tok.eos) + 1] if tok.eos in ids else ids
            ids_out[lang] = ids
            caps[lang] = tok.decode(ids, lang)
        index["samples"].append({
            "name": name, "seed": seed, "long_side": 320, "image_size": list(sc.bgr.shape[:2]), "files": files,
            "shapes": {"resized_rgb": list(small.shape), "input": list(x.shape), "encoder": list(enc.shape),
                       "visual_tokens": list(vis.shape), "decoder_memory": list(mem.shape),
                       "decoder_logits": [K_STEPS, len(tok)]},
            "greedy_token_ids": ids_out, "greedy_captions": caps, "truth_facts": sc.facts, "truth_captions": sc.captions,
            "decided_facts": facts,
        })
        print(name, seed, caps)
    with open(os.path.join(out, "index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)


@torch.no_grad()
def _scene_memory(P: Predictor, out: str, sample: Dict):
    """A reference scene's image as written (BGR) and the decoder's memory of it [1, Tm, Dd]."""
    bgr = cv2.imread(os.path.join(out, sample["files"]["image"]), cv2.IMREAD_COLOR)
    x = torch.from_numpy(preprocess(bgr, P.size, P.mean, P.std)[None])
    enc = P.model.encoder(x)
    return bgr, P.decoder_memory([bgr], P.model.projector(enc), P.probs(P.model.heads(enc)))


@torch.no_grad()
def make_beam(model_dir, out):
    """beam.json: beam-search token ids and captions for every scene in index.json."""
    P = Predictor(model_dir)
    m, tok = P.model, P.tok
    with open(os.path.join(out, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    beam = {"model": index["model"], "length_penalty": LENGTH_PENALTY, "widths": list(BEAM_WIDTHS),
            "protocol": "StreetVLM.beam_search from [<bos>, <lang>]: float32 log-prob sums, candidates ranked by "
                        "(score, logit, -flat index), GNMT length penalty ((5 + n) / 6) ** alpha; ids end in <eos>",
            "samples": []}
    for sample in index["samples"]:
        bgr, mem = _scene_memory(P, out, sample)
        entry = {"name": sample["name"], "token_ids": {}, "captions": {}}
        for width in BEAM_WIDTHS:
            ids_w, caps_w = {}, {}
            for lang in ("en", "zh"):
                ids = m.beam_search(mem, tok.lang_id[lang], tok.bos, tok.eos, width, length_penalty=LENGTH_PENALTY)
                ids_w[lang] = ids
                caps_w[lang] = tok.decode(ids, lang)
            entry["token_ids"][str(width)] = ids_w
            entry["captions"][str(width)] = caps_w
        beam["samples"].append(entry)
        print(sample["name"], entry["captions"])
    with open(os.path.join(out, "beam.json"), "w", encoding="utf-8") as f:
        json.dump(beam, f, indent=1, ensure_ascii=False)


@torch.no_grad()
def make_constrained(model_dir, out):
    """constrained.json: every scene's captions held to its own read facts and to GIVEN_FACTS."""
    P = Predictor(model_dir)
    m, tok = P.model, P.tok
    with open(os.path.join(out, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    doc = {"model": index["model"], "beam_width": CONSTRAINED_BEAM, "length_penalty": LENGTH_PENALTY,
           "protocol": "caption_constraint.py: each step the best token an unsaid allowed sentence continues with; "
                       "<eos> between sentences once one is said; a cut caption ends at its last whole sentence",
           "samples": []}
    for sample, given in zip(index["samples"], GIVEN_FACTS):
        bgr, mem = _scene_memory(P, out, sample)
        frame = P.run_batch([bgr], captions=False)[0]
        entry = {"name": sample["name"], "given_facts": given}
        for key, facts in (("frame", frame), ("given", given)):
            held = {"greedy": {}, "beam": {}}
            for lang in ("en", "zh"):
                allowed = allowed_sentences(facts, lang, tok)
                ids = m.generate(mem, tok.lang_id[lang], tok.bos, tok.eos, allowed=[allowed])[0].tolist()
                held["greedy"][lang] = ids[:ids.index(tok.eos) + 1] if tok.eos in ids else ids
                held["beam"][lang] = m.beam_search(mem, tok.lang_id[lang], tok.bos, tok.eos, CONSTRAINED_BEAM,
                                                   length_penalty=LENGTH_PENALTY, allowed=allowed)
            held["captions"] = {how: {lang: tok.decode(held[how][lang], lang) for lang in ("en", "zh")}
                                for how in ("greedy", "beam")}
            entry[key] = held
        doc["samples"].append(entry)
        print(sample["name"], entry["frame"]["captions"]["greedy"], entry["given"]["captions"])
    with open(os.path.join(out, "constrained.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--out", default="Tests/Fixtures/reference")
    ap.add_argument("--beam-only", action="store_true",
                    help="only (re)write beam.json and constrained.json from the existing index.json")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if not a.beam_only:
        make(a.model, a.out)
    make_beam(a.model, a.out)
    make_constrained(a.model, a.out)


if __name__ == "__main__":
    main()
