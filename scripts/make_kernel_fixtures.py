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
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

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


class Attention(nn.Module):
    """Fused-qkv self-attention, as training/lttw/model.py's Attention (copied, so these fixtures
    do not change when the model file does)."""

    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x, causal):
        q, k, v = self.qkv(x).split(x.shape[-1], dim=-1)
        return self.proj(attention(q, k, v, self.h, causal))


class CrossAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x, vis):
        k, v = self.kv(vis).split(x.shape[-1], dim=-1)
        return self.proj(attention(self.q(x), k, v, self.h, causal=False))


class MLP(nn.Module):
    def __init__(self, d, ratio=4):
        super().__init__()
        self.fc1 = nn.Linear(d, d * ratio)
        self.fc2 = nn.Linear(d * ratio, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class EncoderBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d, eps=1e-5), Attention(d, heads)
        self.ln2, self.mlp = nn.LayerNorm(d, eps=1e-5), MLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x), causal=False)
        return x + self.mlp(self.ln2(x))


class DecoderBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d, eps=1e-5), Attention(d, heads)
        self.ln2, self.cross = nn.LayerNorm(d, eps=1e-5), CrossAttention(d, heads)
        self.ln3, self.mlp = nn.LayerNorm(d, eps=1e-5), MLP(d)

    def forward(self, x, vis):
        x = x + self.attn(self.ln1(x), causal=True)
        x = x + self.cross(self.ln2(x), vis)
        return x + self.mlp(self.ln3(x))


def randomise(module, g):
    """Non-trivial LayerNorm affines and biases, so a swapped gamma/beta or a dropped bias shows."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("weight") and p.dim() == 1:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))


def blocks(g):
    """A pre-norm encoder block (9 tokens, width 48, 4 heads) and a decoder block (6 tokens, width
    32, 4 heads, 5 visual tokens), weights and inputs/outputs in one safetensors file each."""
    enc = EncoderBlock(48, 4)
    randomise(enc, g)
    x = torch.randn(9, 48, generator=g)
    with torch.no_grad():
        y = enc(x)
    save_file({**{f"block.{k}": v.contiguous() for k, v in enc.state_dict().items()}, "x": x, "y": y},
              str(OUT / "encoder_block.safetensors"))

    dec = DecoderBlock(32, 4)
    randomise(dec, g)
    x = torch.randn(6, 32, generator=g)
    vis = torch.randn(5, 32, generator=g)
    with torch.no_grad():
        y = dec(x, vis)
    save_file({**{f"block.{k}": v.contiguous() for k, v in dec.state_dict().items()}, "x": x, "vis": vis, "y": y},
              str(OUT / "decoder_block.safetensors"))
    manifest["params"]["encoder_block"] = {"width": 48, "heads": 4, "tokens": 9, "mlp_ratio": 4, "eps": 1e-5}
    manifest["params"]["decoder_block"] = {"width": 32, "heads": 4, "tokens": 6, "visual_tokens": 5, "mlp_ratio": 4, "eps": 1e-5}


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

    blocks(g)

    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
