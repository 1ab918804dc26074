"""Writes the PyTorch reference outputs the Swift Kernels tests compare against.

Each tensor is a raw little-endian float32 file in Tests/KernelsTests/Fixtures; manifest.json
records the shapes, the parameters and the torch version. The attention reference is written
out exactly as training/lttw/model.py computes it (not F.scaled_dot_product_attention), so the
fixture checks the formula the model was trained with.

    .venv/bin/python scripts/make_kernel_fixtures.py
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "Tests" / "KernelsTests" / "Fixtures"
manifest = {"torch": torch.__version__, "tensors": {}, "params": {}}


def save(name, t):
    a = t.detach().to(torch.float32).contiguous().numpy()
    (OUT / f"{name}.f32").write_bytes(a.astype("<f4").tobytes())
    manifest["tensors"][name] = list(a.shape)


def attention(q, k, v, heads, causal):
    """q [T, D], k/v [S, D] -> [T, D], as model.Attention / CrossAttention do it."""
    T, D = q.shape
    S = k.shape[0]
    split = lambda t: t.view(t.shape[0], heads, D // heads).transpose(0, 1)
    qh, kh, vh = split(q), split(k), split(v)
    att = (qh @ kh.transpose(-2, -1)) * (1.0 / math.sqrt(D // heads))
    if causal and T > 1:
        mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        att = att.masked_fill(~mask, float("-inf"))
    return (att.softmax(-1) @ vh).transpose(0, 1).reshape(T, D)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(20240611)
    randn = lambda *s: torch.randn(*s, generator=g)

    # Linear: an odd row count and widths that are not multiples of the SIMD width.
    lin = torch.nn.Linear(100, 76)
    with torch.no_grad():
        lin.weight.copy_(randn(76, 100) * 0.1)
        lin.bias.copy_(randn(76))
    x = randn(7, 100)
    save("linear_x", x); save("linear_w", lin.weight); save("linear_b", lin.bias)
    save("linear_y", lin(x))
    xv = randn(1, 100)
    save("linear_xv", xv); save("linear_yv", lin(xv))

    # LayerNorm: rows with a large mean next to the spread (a residual stream), eps 1e-5 with
    # affine, and eps 1e-3 without.
    x = randn(6, 192) * 3 + 40
    ln = torch.nn.LayerNorm(192, eps=1e-5)
    with torch.no_grad():
        ln.weight.copy_(1 + 0.1 * randn(192))
        ln.bias.copy_(0.1 * randn(192))
    save("ln_x", x); save("ln_gamma", ln.weight); save("ln_beta", ln.bias); save("ln_y", ln(x))
    save("ln_y_plain", F.layer_norm(x, (192,), eps=1e-3))
    manifest["params"]["ln_y"] = {"eps": 1e-5}
    manifest["params"]["ln_y_plain"] = {"eps": 1e-3, "affine": False}

    # GELU over a dense range plus random values (1037: not a multiple of 8).
    x = torch.cat([torch.linspace(-10, 10, 1001), randn(36) * 3])
    save("gelu_x", x); save("gelu_exact", F.gelu(x)); save("gelu_tanh", F.gelu(x, approximate="tanh"))

    # Softmax: large logits (stability), masked entries, a row with one survivor.
    x = randn(4, 37) * 10
    x[1] += 1000
    x[2, ::3] = float("-inf")
    x[3, 1:] = float("-inf")
    save("softmax_x", x); save("softmax_y", x.softmax(-1))

    # Attention: D = 48, 4 heads (head width 12, not a multiple of 8).
    D, H = 48, 4
    qkv = randn(9, 3 * D)
    q, k, v = qkv.split(D, dim=1)
    save("attn_qkv", qkv)
    save("attn_self", attention(q, k, v, H, causal=False))
    save("attn_causal", attention(q, k, v, H, causal=True))
    # Three new queries against all nine keys (the last three rows are the new tokens): tril(S - T).
    save("attn_causal_tail", attention(q[6:], k, v, H, causal=True))
    xq = randn(5, D)
    kv = randn(11, 2 * D)
    save("attn_xq", xq); save("attn_kv", kv)
    save("attn_cross", attention(xq, kv[:, :D], kv[:, D:], H, causal=False))
    manifest["params"]["attention"] = {"width": D, "heads": H}

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
