"""Writes the small safetensors files the Swift ModelArtifact tests open.

They are written by the real `safetensors` library (not by hand) so the tests check the loader
against the writer PyTorch users have; the broken files the tests need are built by the tests
themselves, byte by byte. Values are k/8 - 1, exact in F32, F16 and BF16.

    .venv/bin/python scripts/make_artifact_fixtures.py
"""
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests" / "ModelArtifactTests" / "Fixtures"


def ramp(*shape, dtype=torch.float32):
    n = 1
    for s in shape:
        n *= s
    return (torch.arange(n, dtype=torch.float32) / 8 - 1).reshape(shape).to(dtype)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            "enc.blocks.0.attn.qkv.weight": ramp(6, 4),
            "enc.blocks.0.attn.qkv.bias": ramp(6),
            "enc.norm.weight": ramp(4),
            "scale": ramp(),
            "empty": ramp(0, 3),
        },
        str(OUT / "small.safetensors"),
        metadata={"format": "pt", "note": "ListenToTheWorld loader fixture"},
    )
    save_file(
        {"half": ramp(2, 5, dtype=torch.float16), "brain": ramp(3, 2, dtype=torch.bfloat16), "full": ramp(4)},
        str(OUT / "half.safetensors"),
    )


if __name__ == "__main__":
    main()
