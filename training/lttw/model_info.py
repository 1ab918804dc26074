"""Parameter count and FLOPs per frame.

  python -m lttw.model_info                                  # default config
  python -m lttw.model_info --config training/configs/cpu_default.json
  python -m lttw.model_info --model models/default           # an artifact
"""
import argparse
import json

from .model import HEADS, StreetVLM, count_params, flops_per_frame


def info(mc):
    m = StreetVLM(mc)
    parts = {"encoder": count_params(m.encoder), "heads": count_params(m.heads),
             "projector": count_params(m.projector), "decoder": count_params(m.decoder)}
    fl = flops_per_frame(mc)
    return {"params_total": count_params(m), "params": parts,
            "gflops_per_frame_encoder_heads_projector": round(fl["frame_total_without_caption"] / 1e9, 4),
            "mflops_per_decoder_token": round(fl["decoder_per_token"] / 1e6, 3),
            "gflops_caption_24_tokens": round(fl["caption_total"] / 1e9, 4),
            "input": f"{mc.image_size}x{mc.image_size}", "patch": mc.patch_size, "encoder_tokens": mc.n_patches + int(mc.use_cls),
            "visual_tokens_after_pooling": mc.n_visual_tokens, "heads": HEADS,
            "note": "FLOPs = 2 x multiply-accumulates of matmuls/conv (layer norm, softmax, GELU excluded)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=None)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    if a.model:
        from .artifact import load_artifact
        mc = load_artifact(a.model)[0].config
    else:
        from .tokenizer import default_tokenizer
        from .train import load_config, model_config
        mc = model_config(load_config(a.config), len(default_tokenizer()))
    print(json.dumps(info(mc), indent=1))


if __name__ == "__main__":
    main()
