"""Write models/<name>/README.md from config.json and the eval/*/metrics.json files.

  python -m lttw.model_card --model models/default
"""
import argparse
import glob
import json
import os
from typing import Dict


def obstacle_trunk(oa: Dict, params: int) -> str:
    """What reads the obstacle expert's frame, in words: an ImageNet MobileNetV2's first layers or a ViT of its own."""
    if oa.get("trunk") == "mobilenet_v2":
        from .obstacle_expert import mobilenet_v2_channels, mobilenet_v2_stride
        blocks = oa.get("trunk_blocks", 14)
        grid = oa["image_size"] // mobilenet_v2_stride(blocks)
        return (f"the first {blocks} feature layers of MobileNetV2, started from ImageNet weights (a 3×3 stride-2 convolution, "
                f"then inverted residual blocks; batch norm, ReLU6) into {grid}×{grid} tokens of {mobilenet_v2_channels(blocks)} "
                f"features ({params / 1e3:.0f} k parameters)")
    stem = (f"a convolutional stem of {len(oa['stem_channels']) + 1} 3×3 stride-2 convolutions, channels "
            f"{'→'.join(str(c) for c in [3] + oa['stem_channels'] + [oa['width']])}, into "
            if oa.get("stem") == "conv" else f"{oa['patch_size']}×{oa['patch_size']} patches, ")
    grid = oa["image_size"] // oa["patch_size"]
    return (f"a ViT of its own ({stem}{grid}×{grid} tokens, width {oa['width']}, depth {oa['depth']}, {oa['heads']} heads; "
            f"{params / 1e3:.0f} k parameters)")


def verify_rule(margin: float,
                frame: str = "the largest verifier green on a non-green validation frame the reader calls green") -> str:
    """How the verifier's bar was set, in words (config.json and the model card): `margin` of the
    way from `frame` to 1."""
    return f"halfway between {frame} and 1" if margin == 0.5 else f"{margin:g} of the way from {frame} to 1"


def pct(v):
    return "n/a" if v is None else f"{100 * v:.2f} %"


def notes_summary(notes: str) -> str:
    """The notebook's first section (where the model stands, kept current by whoever changes a
    figure) and a link to the rest: the card carries the figures a reader needs, NOTES.md beside it
    the sessions (copying the whole notebook doubled the folder's documents)."""
    lines = notes.splitlines()
    end = next((i for i, line in enumerate(lines) if i > 0 and line.startswith("## ")), len(lines))
    rest = len(lines) - end
    out = "\n".join(lines[:end]).rstrip()
    if rest:
        out += ("\n\nThe sessions behind these figures, newest first, with every command, what was measured and what "
                "was rejected: [NOTES.md](NOTES.md) (the lab notebook beside this card).")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    L = ["# Default model (`models/default`)", "",
         f"ViT patch encoder + perception heads + projector + GPT-2-style decoder, {cfg['params'] / 1e6:.2f} M parameters, "
         f"{cfg['flops_per_frame']['frame_total_without_caption'] / 1e9:.2f} GFLOP per frame (+{cfg['flops_per_frame']['decoder_per_token'] / 1e6:.2f} MFLOP per caption token). "
         "Trained from scratch on procedurally generated scenes (training/README.md)"
         + ("; its crosswalk head then fine-tuned on real photos as well." if cfg.get("training", {}).get("fine_tune") else " only."), "",
         f"Training: `{cfg.get('training', {}).get('command')}` — checkpoint `{cfg.get('training', {}).get('checkpoint')}` at step "
         f"{cfg.get('training', {}).get('step')}, seed {cfg.get('training', {}).get('seed')}, {cfg.get('training', {}).get('n_train')} training scenes.", ""]
    ft = cfg.get("training", {}).get("fine_tune")
    if ft:
        L += [f"Fine-tune (`training/ship_crosswalk_real.sh`): `{ft['command']}` — step {ft['step']}; every generated-scene loss "
              "plus crosswalk presence on the real train split's source and viewed labels (`training/labels/`); "
              f"validation: {json.dumps({k: round(v, 4) for k, v in (ft.get('val') or {}).items()})}. "
              "Temperatures and thresholds below fitted again after it.", ""]
    L += [
         f"Operating point: green announced only when calibrated p(green) ≥ {cfg['thresholds']['green']:.4f} "
         f"(chosen on the synthetic validation split, seeds 1,000,000–1,001,999: zero false greens there); "
         f"light abstains ('unknown') below max-probability {cfg['thresholds']['abstain']}; obstacle threshold {cfg['thresholds']['obstacle']}.",
         f"Calibration temperatures: `{json.dumps(cfg['calibration']['temperatures'])}`; validation stats: `{json.dumps(cfg['calibration']['stats'])}`", ""]
    se = cfg.get("signal_expert")
    if se:
        ar = se["architecture"]
        th = se["thresholds"]
        L += ["## Signal expert (gives the light)", "",
              f"Lamp candidates on the full frame (training/lttw/lamps.py = Sources/CVBridge/Lamps.cpp, at most "
              f"{se['proposals']['max_blobs']} blobs, "
              + (f"the figures of the green ones among the first {se['proposals']['figure_from']} at "
                 f"{se['proposals']['figure_growth']}× their size, " if se['proposals'].get('figure_from') else "")
              + (f"the lamp figure framing the most saturated green mass (green pixels gathered in cells of "
                 f"{se['proposals']['cluster_cell_pct']} % of the shorter side) at "
                 f"{se['proposals']['cluster_side_sixteenths'] * se['proposals']['crop_context'] / 16:.2f}× its size, " if se['proposals'].get('cluster_max') else "")
              + f"the whole frame), each crop ({ar['crop_size']}×{ar['crop_size']}, "
              f"{se['proposals']['crop_context']}× the lamp) read by a ViT ({ar['patch_size']}×{ar['patch_size']} patches, width {ar['width']}, "
              f"depth {ar['depth']}, {ar['heads']} heads) whose embedding and the candidate's place in the frame feed an MLP head "
              f"({se.get('params', 0) / 1e3:.0f} k parameters): {', '.join(se['classes'])}.", "",
              f"Operating point: green only when the chosen candidate's green mass ≥ {th['green']:.4f}"
              + (f" in its own crop and in every confirmation view ({', '.join(se['green_confirmation'])})"
                 + (f" but {th['view_misses']} (the lowest {th['view_misses']} of its reads set aside)" if th.get("view_misses") else "")
                 if se.get("green_confirmation") else "")
              + f" and no red lamp of the same kind "
              f"≥ {th['red_veto']} anywhere in view"
              + (f" whose longer side is at least {th['red_veto_side']:.3g} of the walk lamp's" if th.get("red_veto_side") else "")
              + (" (in its own crop and in at least half of its confirmation views)" if se.get("green_confirmation") else "")
              + f"; a candidate is a signal from p ≥ {th['signal']}; red/yellow need ≥ {th['abstain']}"
              + (f"; a frame whose proposal image has no chroma above {se['proposals']['colourless_chroma']} (no colour: a grey "
                 "or infrared camera) is never said to have no signal or a walk, but unknown" if "colourless_chroma" in se["proposals"] else "")
              + (f", nor one whose {se['proposals']['noise_tile']}-pixel tiles' means have no chroma above "
                 f"{se['proposals']['noise_chroma']} (its colour only a camera's noise) said to have no signal"
                 if "noise_chroma" in se["proposals"] else "")
              + ". "
              f"Temperature {se['temperature']}. Calibrated on the real val split of ../shared/train/real and generated validation "
              f"scenes (never on ../shared/eval)"
              + (f", the reader alone (threshold {se['calibration']['reader_alone_green']:.5f})" if "reader_alone_green" in se["calibration"] else "")
              + f": `{json.dumps(se['calibration']['stats'])}`.", ""]
        gv = se.get("green_verifier")
        if gv:
            va = gv["architecture"]
            misses = th.get("view_misses", 0)
            chosen = next(e for e in gv["calibration"]["grid"] if e["reader_green"] == th["green"] and e.get("view_misses", 0) == misses)
            greens = sorted({e["reader_green"] for e in gv["calibration"]["grid"]})
            misses_tried = sorted({e.get("view_misses", 0) for e in gv["calibration"]["grid"]})
            network = (f"MobileNetV2's first {va['trunk_blocks']} ImageNet layers ({va['crop_size']}×{va['crop_size']} crops"
                       if va.get("trunk") else
                       f"a second ViT ({va['crop_size']}×{va['crop_size']} crops, {va['patch_size']}×{va['patch_size']} patches, "
                       f"width {va['width']}, depth {va['depth']}")
            L += [f"**Green verifier** (training/lttw/green_verifier.py): {network}; {gv['params'] / 1e3:.0f} k "
                  f"parameters) trained on the candidates the reader reads green, reads the walk candidate again in its own square and "
                  f"every confirmation view; walk needs its smallest green ≥ {th['verify']:.4f} as well. Calibrated with the reader "
                  f"on {gv['calibration']['frames']:,} validation frames: the reader's threshold {th['green']} was chosen from "
                  f"{', '.join(str(g) for g in greens)}"
                  + (f" and its view misses {misses} from {', '.join(str(m) for m in misses_tried)}" if len(misses_tried) > 1 else "")
                  + (" as the grid point given to the calibration (--pin) " if gv["calibration"].get("pinned")
                     else " for the most validation greens said ")
                  + f"(real val {chosen['real_val']['green_recall']:.1%}, generated {chosen['generated_val']['green_recall']:.1%}); "
                  + ("the verifier's is " + verify_rule(gv["calibration"].get("margin", 0.5),
                                                         "its largest green on a non-green frame the reader passed "
                                                         f"({chosen['max_verifier_green_on_non_green']:.4f})") + "."
                     if th["verify"] > 0.5 else
                     "no non-green validation frame passed the reader there, so the verifier's threshold is its floor, 0.5 "
                     "(even odds).")
                  + " When the verifier turns the walk candidate down, the other candidates that read green at the threshold "
                  "(after it) are tried in turn: the first that holds in its views and convinces the verifier is the walk lamp."
                  + (f" Second look: a frame left unknown by a green-reading candidate the verifier gives less than "
                     f"{th['set_aside']} is decided again without it, and a red or yellow found then stands." if "set_aside" in th else ""),
                  ""]
        cr = se.get("countdown_reader")
        if cr:
            ca, cv = cr["architecture"], cr["calibration"]
            L += [f"**Countdown reader** (training/lttw/countdown.py): for a frame decided red or green, the square {cr['context']} "
                  f"times the announced lamp's size around it at {ca['crop_size']}×{ca['crop_size']}, through a convolutional stem "
                  f"({'→'.join(str(c) for c in [3] + ca.get('stem_channels', []) + [ca['width']])}) into {ca['depth']} blocks of width "
                  f"{ca['width']} ({cr['params'] / 1e3:.0f} k parameters); the tens (none, blank, 1–5) and the ones (0–9), each its "
                  f"own softmax. Seconds are said when their probability (tens × ones) reaches {cr['threshold']:.4f}: halfway between "
                  f"the most confident wrong number on {cv['squares']:,} generated validation squares "
                  f"({cv['most_confident_wrong_number']:.4f}) and 1. There it reads {cv['read_right']} of {cv['numbers']} numbers "
                  f"({cv['read_right'] / max(1, cv['numbers']):.1%}) and {cv['read_wrong']} wrong; by digit height in the square: "
                  + "; ".join(f"{k} {v['read_right']:.0%} of {v['n']}" for k, v in cv["by_digit_height"].items() if v["n"])
                  + ". Generated scenes only: no real photo here is labelled with its seconds.", ""]
    oe = cfg.get("obstacle_expert")
    if oe:
        oa = oe["architecture"]
        at = oe["calibration"]["at_threshold"]
        L += ["## Obstacle expert (gives the obstacles)", "",
              f"The frame squashed to {oa['image_size']}×{oa['image_size']}, read by {obstacle_trunk(oa, oe['params'])}; every "
              f"grid token projected to {oa['token_features']} features and the whole grid read by one linear layer into nine slots "
              f"(left / ahead / right × near / mid / far), each a softmax over empty and {len(oe['kinds'])} kinds "
              f"(training/lttw/obstacle_expert.py). "
              + (f"Training: {oe['training']['recipe']} " if oe['training'].get('recipe') else "Trained on generated scenes only ")
              + f"(run `{oe['training']['run']}`, step {oe['training']['step']}). An obstacle when its slot's most likely kind reaches {oe['threshold']}; temperature "
              f"{oe['temperature']}. On {oe['calibration']['validation']['scenes']:,} generated validation scenes (seeds from "
              f"{oe['calibration']['validation']['seeds_from']:,}) at that threshold: recall {at['recall']:.1%}, precision "
              f"{at['precision']:.1%} of (kind, position), distance right on {at['distance_accuracy']:.1%} of the found.", ""]
    fu = cfg.get("fusion")
    if fu:
        fa, ft, fv = fu["architecture"], fu["training"], fu.get("validation") or {}
        L += ["## Expert fusion (what the decoder attends to)", "",
              f"As in MouSi's poly-expert fusion, the caption decoder attends to the scene's {cfg['derived']['n_visual_tokens']} "
              f"visual tokens and {fa['signal_tokens'] + 1 + fa['obstacle_slots']} more: the {fa['signal_tokens']} signal "
              f"candidates most likely a signal (the reader's embedding, the candidate's geometry and its calibrated classes, "
              f"{fa['signal_features']} values), the scene heads' crossing (p(crosswalk) and its side, and the crossing the facts "
              f"decide) and the obstacle expert's {fa['obstacle_slots']} slots (its probabilities and the obstacle decided "
              f"there), each through its own two-layer MLP into the decoder's width with a learned place "
              f"({fu['params'] / 1e3:.0f} k parameters; training/lttw/fusion.py). The experts and the scene encoder are frozen; "
              f"the fusion and the decoder were trained on what they read of generated scenes, to say the captions the frame's "
              f"own facts give (`{ft['command']}`, step {ft['step']}, validation loss {ft['val_loss']:.4f})."
              + (f" On {fv['fused']['captions']:,} validation captions (both languages) the raw caption claims a crossing or an "
                 f"obstacle the facts deny on {fv['fused']['contradicting']} ({fv['fused']['rate']:.2%})"
                 + (f"; the decoder before it, on the scene tokens alone: {fv['scene_tokens_alone']['contradicting']} "
                    f"({fv['scene_tokens_alone']['rate']:.2%})" if fv.get("scene_tokens_alone") else "") + "."
                 if fv.get("fused") else "")
              + " Whatever the decoder prefers, every caption is held to its frame's facts while it is decoded "
                "(training/lttw/caption_constraint.py, Swift `CaptionConstraint`): each step may only pick a token that keeps "
                "the caption inside the facts' own sentences (the light's, the crossing's, each obstacle's), so no caption "
                "contradicts its facts.", ""]
    if se:
        L += [f"Known-answer frames run at every load: {', '.join(a['light'] + ' (' + a['file'] + ')' for a in cfg.get('self_test', []))}.", ""]
    L += [
         "## Results (false-green rate first)", "",
         "| set | n | false-green rate | light acc. | abstention | crosswalk acc. | obstacle recall | obstacle precision | BLEU-4 en/zh | ROUGE-L en/zh |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for mf in sorted(glob.glob(os.path.join(a.model, "eval", "*", "metrics.json"))):
        m = json.load(open(mf))
        name = os.path.basename(os.path.dirname(mf))
        cap = (f"{m['caption_bleu4_en']:.3f} / {m['caption_bleu4_zh']:.3f}", f"{m['caption_rougeL_en']:.3f} / {m['caption_rougeL_zh']:.3f}") \
            if "caption_bleu4_en" in m else ("—", "—")
        L.append(f"| [{name}](eval/{name}/report.md) | {m['n']} | **{pct(m['false_green_rate'])}** ({m['false_green_count']}/{m['false_green_denominator']}) | "
                 f"{pct(m['light_accuracy'])} | {pct(m['abstention_rate'])} | {pct(m['crosswalk_accuracy'])} | {pct(m['obstacle_recall'])} | "
                 f"{pct(m['obstacle_precision'])} | {cap[0]} | {cap[1]} |")
    L += ["", "Files: `config.json`, `model.safetensors`, `tokenizer.json` (the artifact); `eval/<set>/` reports; "
          "`loss.png`, `log.csv` (training curves); `model_info.json`.", ""]
    notes = os.path.join(a.model, "NOTES.md")
    if os.path.exists(notes):
        L += [notes_summary(open(notes).read())]
    with open(os.path.join(a.model, "README.md"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
