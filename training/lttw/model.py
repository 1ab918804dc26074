"""ViT patch encoder + perception heads + projector (2x2 token pooling) + GPT-2-style decoder.

Standard blocks only (so published ViT / GPT-2 checkpoints can be converted later):
  block(x) = x + Attn(LN1(x)); x = x + MLP(LN2(x))          (pre-norm)
  decoder block adds cross-attention: x = x + XAttn(LN2(x), vis); MLP uses LN3
  MLP = fc2(GELU_erf(fc1(x)))  -- exact erf GELU everywhere
  attention: softmax(Q K^T / sqrt(head_dim) [+ causal mask]) V, heads split on the last dim
  LayerNorm eps = config.ln_eps (1e-5)
"""
import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import caption_constraint
from .generator import DISTANCES, LIGHT_KINDS, LIGHT_STATES, OBSTACLE_KINDS, POSITIONS


@dataclass
class ModelConfig:
    image_size: int = 160
    patch_size: int = 16
    enc_width: int = 192
    enc_depth: int = 6
    enc_heads: int = 3
    enc_mlp_ratio: float = 4.0
    use_cls: bool = True
    head_hidden: int = 192
    head_max_pool: bool = True         # heads see concat(CLS, mean(patches), max(patches))
    head_region_pool: bool = True      # ... plus mean/max over the left / ahead / right column bands
    pool: int = 2                      # token compression: pool x pool average pooling of the patch grid
    dec_width: int = 128
    dec_depth: int = 2
    dec_heads: int = 4
    dec_mlp_ratio: float = 4.0
    dec_max_len: int = 64
    vocab_size: int = 99
    tie_lm_head: bool = True
    ln_eps: float = 1e-5

    @property
    def grid(self):
        return self.image_size // self.patch_size

    @property
    def n_patches(self):
        return self.grid ** 2

    @property
    def n_visual_tokens(self):
        return (1 if self.use_cls else 0) + (self.grid // self.pool) ** 2

    def to_dict(self):
        return asdict(self)


HEADS = {  # name -> number of outputs
    "light_state": len(LIGHT_STATES),
    "light_kind": len(LIGHT_KINDS),
    "light_position": len(POSITIONS),
    "crosswalk": 2,
    "crosswalk_offset": len(POSITIONS),
    "crosswalk_heading": 1,                              # regression, degrees / 30
    "obstacles": len(POSITIONS) * len(OBSTACLE_KINDS),   # sigmoid, index = pos * n_kinds + kind
    "obstacle_distance": len(POSITIONS) * len(DISTANCES),  # softmax per position, index = pos * 3 + dist
}
HEAD_LABELS = {
    "light_state": LIGHT_STATES,
    "light_kind": LIGHT_KINDS,
    "light_position": POSITIONS,
    "crosswalk": ["no", "yes"],
    "crosswalk_offset": POSITIONS,
    "crosswalk_heading": ["heading_deg/30"],
    "obstacles": [f"{p}:{k}" for p in POSITIONS for k in OBSTACLE_KINDS],
    "obstacle_distance": [f"{p}:{d}" for p in POSITIONS for d in DISTANCES],
}


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def split(self, t):  # [B,T,D] -> [B,H,T,hd]
        B, T, D = t.shape
        return t.view(B, T, self.h, D // self.h).transpose(1, 2)

    def forward(self, x, causal=False, past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = self.split(q), self.split(k), self.split(v)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // self.h))
        if causal and T > 1:
            S = k.shape[2]
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = att.softmax(-1) @ v
        y = y.transpose(1, 2).reshape(B, T, D)
        return self.proj(y), (k, v)


class CrossAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.proj = nn.Linear(d, d)

    def kv_of(self, vis):  # -> (k, v) each [B,H,Tv,hd]
        B, T, D = vis.shape
        k, v = self.kv(vis).split(D, dim=2)
        return (k.view(B, T, self.h, D // self.h).transpose(1, 2), v.view(B, T, self.h, D // self.h).transpose(1, 2))

    def forward(self, x, kv):
        B, T, D = x.shape
        q = self.q(x).view(B, T, self.h, D // self.h).transpose(1, 2)
        k, v = kv
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // self.h))
        y = att.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    def __init__(self, d, ratio):
        super().__init__()
        self.fc1 = nn.Linear(d, int(d * ratio))
        self.fc2 = nn.Linear(int(d * ratio), d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU


class EncoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(c.enc_width, eps=c.ln_eps)
        self.attn = Attention(c.enc_width, c.enc_heads)
        self.ln2 = nn.LayerNorm(c.enc_width, eps=c.ln_eps)
        self.mlp = MLP(c.enc_width, c.enc_mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))[0]
        return x + self.mlp(self.ln2(x))


class Encoder(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.patch_embed = nn.Conv2d(3, c.enc_width, c.patch_size, c.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.enc_width)) if c.use_cls else None
        self.pos_embed = nn.Parameter(torch.randn(1, c.n_patches + (1 if c.use_cls else 0), c.enc_width) * 0.02)
        self.blocks = nn.ModuleList([EncoderBlock(c) for _ in range(c.enc_depth)])
        self.norm = nn.LayerNorm(c.enc_width, eps=c.ln_eps)

    def forward(self, x):  # [B,3,S,S] -> [B, 1+N, D]  (CLS first, then patches row-major)
        t = self.patch_embed(x).flatten(2).transpose(1, 2)
        if self.cls_token is not None:
            t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)
        t = t + self.pos_embed
        for b in self.blocks:
            t = b(t)
        return self.norm(t)


def column_bands(g):
    """Patch-grid column ranges [c0, c1) for left / ahead / right: column centre (c+0.5)/g < 0.36 is
    left, > 0.64 is right, else ahead (the same cut-offs as the position labels). g=10: [0,4) [4,6) [6,10)."""
    pos = ["left" if (c + 0.5) / g < 0.36 else "right" if (c + 0.5) / g > 0.64 else "ahead" for c in range(g)]
    return [(pos.index(p), len(pos) - pos[::-1].index(p)) for p in ("left", "ahead", "right")]


class Heads(nn.Module):
    """feature = concat(CLS, mean(patches), max(patches), then for each column band left/ahead/right:
    mean(band), max(band)) -> trunk Linear + GELU -> one Linear per head."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.max_pool = c.head_max_pool
        self.region_pool = c.head_region_pool
        self.bands = column_bands(c.grid)
        per = 2 if c.head_max_pool else 1
        fin = c.enc_width * ((1 if c.use_cls else 0) + per + (3 * per if c.head_region_pool else 0))
        self.grid = c.grid
        self.trunk = nn.Linear(fin, c.head_hidden)
        self.out = nn.ModuleDict({k: nn.Linear(c.head_hidden, n) for k, n in HEADS.items()})
        self.use_cls = c.use_cls

    def forward(self, tokens) -> Dict[str, torch.Tensor]:
        patches = tokens[:, 1:] if self.use_cls else tokens
        parts = ([tokens[:, 0]] if self.use_cls else []) + [patches.mean(1)]
        if self.max_pool:
            parts.append(patches.amax(1))
        if self.region_pool:
            B, N, D = patches.shape
            grid = patches.reshape(B, self.grid, self.grid, D)  # [B, row, col, D]
            for c0, c1 in self.bands:
                band = grid[:, :, c0:c1].reshape(B, -1, D)
                parts.append(band.mean(1))
                if self.max_pool:
                    parts.append(band.amax(1))
        feat = torch.cat(parts, dim=-1)
        h = F.gelu(self.trunk(feat))
        return {k: m(h) for k, m in self.out.items()}


class Projector(nn.Module):
    """Patch grid [g x g] -> avg-pool (pool x pool, stride pool) -> (g/pool)^2 tokens, row-major;
    CLS output (if any) prepended; then fc2(GELU(fc1(.))) to the decoder width."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.fc1 = nn.Linear(c.enc_width, c.dec_width)
        self.fc2 = nn.Linear(c.dec_width, c.dec_width)

    def forward(self, tokens):
        c = self.c
        off = 1 if c.use_cls else 0
        p = tokens[:, off:]
        B, N, D = p.shape
        g = c.grid
        p = p.transpose(1, 2).reshape(B, D, g, g)
        p = F.avg_pool2d(p, c.pool, c.pool).flatten(2).transpose(1, 2)
        if c.use_cls:
            p = torch.cat([tokens[:, :1], p], dim=1)
        return self.fc2(F.gelu(self.fc1(p)))


class DecoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        d = c.dec_width
        self.ln1 = nn.LayerNorm(d, eps=c.ln_eps)
        self.attn = Attention(d, c.dec_heads)
        self.ln2 = nn.LayerNorm(d, eps=c.ln_eps)
        self.cross = CrossAttention(d, c.dec_heads)
        self.ln3 = nn.LayerNorm(d, eps=c.ln_eps)
        self.mlp = MLP(d, c.dec_mlp_ratio)

    def forward(self, x, cross_kv, past=None):
        a, present = self.attn(self.ln1(x), causal=True, past=past)
        x = x + a
        x = x + self.cross(self.ln2(x), cross_kv)
        x = x + self.mlp(self.ln3(x))
        return x, present


class Decoder(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c.vocab_size, c.dec_width)
        self.wpe = nn.Embedding(c.dec_max_len, c.dec_width)
        self.blocks = nn.ModuleList([DecoderBlock(c) for _ in range(c.dec_depth)])
        self.ln_f = nn.LayerNorm(c.dec_width, eps=c.ln_eps)
        self.lm_head = None if c.tie_lm_head else nn.Linear(c.dec_width, c.vocab_size, bias=False)

    def cross_kv(self, vis):
        return [b.cross.kv_of(vis) for b in self.blocks]

    def logits(self, h):
        h = self.ln_f(h)
        return h @ self.wte.weight.t() if self.lm_head is None else self.lm_head(h)

    def forward(self, ids, vis=None, cross_kv=None, past=None, start_pos: int = 0):
        """ids [B,T]; returns logits [B,T,V] and presents (list of (k,v) per layer)."""
        if cross_kv is None:
            cross_kv = self.cross_kv(vis)
        T = ids.shape[1]
        pos = torch.arange(start_pos, start_pos + T, device=ids.device)
        x = self.wte(ids) + self.wpe(pos)[None]
        presents = []
        for i, b in enumerate(self.blocks):
            x, pr = b(x, cross_kv[i], None if past is None else past[i])
            presents.append(pr)
        return self.logits(x), presents


class StreetVLM(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.encoder = Encoder(c)
        self.heads = Heads(c)
        self.projector = Projector(c)
        self.decoder = Decoder(c)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def encode(self, x):
        tokens = self.encoder(x)
        return tokens, self.heads(tokens), self.projector(tokens)

    def forward(self, x, ids):
        tokens, head_logits, vis = self.encode(x)
        logits, _ = self.decoder(ids, vis)
        return head_logits, logits

    @torch.no_grad()
    def generate(self, vis, lang_id: int, bos: int, eos: int, max_len: Optional[int] = None, return_logits=False,
                 beams: int = 1, length_penalty: float = 0.6, allowed: Optional[List] = None):
        """Greedy decoding with a KV cache. Starts from [<bos>, <lang>]; stops at <eos> or max_len.

        `allowed`: per image, the sentences (token ids) its facts allow, or None for free decoding
        (caption_constraint.py: each step takes the best token the facts allow, and a caption the
        length limit cuts ends at its last whole sentence, padded with <eos>).
        With beams > 1 (one image at a time): beam search, see `beam_search`; returns [1, L]."""
        if beams > 1:
            assert vis.shape[0] == 1 and not return_logits, "beam search decodes one image and returns tokens only"
            ids = self.beam_search(vis, lang_id, bos, eos, beams, max_len=max_len, length_penalty=length_penalty,
                                   allowed=None if allowed is None else allowed[0])
            return torch.tensor([ids], dtype=torch.long)
        max_len = max_len or self.config.dec_max_len
        B = vis.shape[0]
        ckv = self.decoder.cross_kv(vis)
        ids = torch.tensor([[bos, lang_id]] * B, dtype=torch.long, device=vis.device)
        logits, past = self.decoder(ids, cross_kv=ckv)
        step_logits = [logits[:, -1]]
        out = []
        done = torch.zeros(B, dtype=torch.bool)
        pos = 2
        while True:
            last = step_logits[-1]
            if allowed is not None:
                prefixes = [[int(t[b]) for t in out] for b in range(B)]
                last = caption_constraint.masked(last, prefixes, allowed, eos)
            nxt = last.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            out.append(nxt)
            done |= nxt == eos
            if bool(done.all()) or pos >= max_len:
                break
            logits, past = self.decoder(nxt[:, None], cross_kv=ckv, past=past, start_pos=pos)
            step_logits.append(logits[:, -1])
            pos += 1
        seq = torch.stack(out, 1)
        if allowed is not None:
            for b in range(B):
                if allowed[b] is not None and int(seq[b, -1]) != eos:
                    kept = len(caption_constraint.whole_sentences(seq[b].tolist(), allowed[b], eos))
                    seq[b, kept:] = eos
        return (seq, torch.stack(step_logits, 1)) if return_logits else seq


    @torch.no_grad()
    def beam_search(self, vis, lang_id: int, bos: int, eos: int, beams: int, max_len: Optional[int] = None,
                    length_penalty: float = 0.6, allowed: Optional[List[List[int]]] = None) -> List[int]:
        """Beam search for one image (vis [1, Tv, D]); the reference for the Swift engine's.

        - Each live beam's score is the float32 sum of its tokens' log-probabilities,
          log_softmax written out as (x - max) - log(sum(exp(x - max))).
        - Candidates (beam, token) are ranked by score, then raw logit, then beam * V + token
          (highest, highest, lowest): width 1 is then exactly greedy decoding, ties included.
        - Walking the ranking from the top, a candidate ending in <eos> becomes a finished
          hypothesis, any other a live beam of the next step, until `beams` beams are live.
        - Stops once `beams` hypotheses have finished, or at the length limit (the same place
          as greedy decoding), where the live beams finish as they are, without <eos>.
        - The winner has the best GNMT length-normalised score, log P / ((5 + n) / 6) ** alpha,
          n = generated tokens including <eos> (alpha = length_penalty; 0 = plain log P);
          the earlier-finished hypothesis wins a tie.
        - `allowed` (the sentences the image's facts allow, caption_constraint.py): only the
          candidates the constraint allows after their beam are ranked; the log-probabilities
          stay the full vocabulary's. A winner the length limit cut ends at its last whole sentence.
        Returns the winning token ids (ending in <eos> unless the length limit cut it)."""
        assert vis.shape[0] == 1 and beams >= 1
        max_len = max_len or self.config.dec_max_len
        cross = self.decoder.cross_kv(vis)
        logits, past = self.decoder(torch.tensor([[bos, lang_id]], device=vis.device), cross_kv=cross)
        logits = logits[:, -1].float()
        live_tokens: List[List[int]] = [[]]
        live_scores = torch.zeros(1, dtype=torch.float32)
        finished: List[Tuple[float, List[int]]] = []

        def normalized(score, n):
            return float(score) / ((5 + n) / 6) ** length_penalty

        pos = 2
        while True:
            vocab = logits.shape[-1]
            shifted = logits - logits.max(-1, keepdim=True).values
            logp = shifted - torch.log(torch.exp(shifted).sum(-1, keepdim=True))
            scores = (live_scores[:, None] + logp)
            if allowed is not None:
                scores = caption_constraint.masked(scores, live_tokens, [allowed] * len(live_tokens), eos)
            scores = scores.reshape(-1).numpy()
            raw = logits.reshape(-1).numpy()
            order = np.lexsort((np.arange(scores.size), -raw, -scores))
            parents, tokens, kept = [], [], []
            for flat in order:
                if len(tokens) == beams or scores[flat] == -np.inf:
                    break
                parent, token = divmod(int(flat), vocab)
                if token == eos:
                    seq = live_tokens[parent] + [eos]
                    finished.append((normalized(scores[flat], len(seq)), seq))
                else:
                    parents.append(parent)
                    tokens.append(token)
                    kept.append(scores[flat])
            if pos >= max_len:
                for parent, token, score in zip(parents, tokens, kept):
                    seq = live_tokens[parent] + [token]
                    finished.append((normalized(score, len(seq)), seq))
                break
            if len(finished) >= beams or not tokens:
                break
            index = torch.tensor(parents, dtype=torch.long)
            past = [(k.index_select(0, index), v.index_select(0, index)) for k, v in past]
            ckv = [(k.expand(len(parents), -1, -1, -1), v.expand(len(parents), -1, -1, -1)) for k, v in cross]
            logits, past = self.decoder(torch.tensor(tokens, dtype=torch.long)[:, None], cross_kv=ckv, past=past,
                                        start_pos=pos)
            logits = logits[:, -1].float()
            live_tokens = [live_tokens[p] + [t] for p, t in zip(parents, tokens)]
            live_scores = torch.tensor(np.array(kept, dtype=np.float32))
            pos += 1
        best = finished[0]
        for item in finished[1:]:
            if item[0] > best[0]:
                best = item
        if allowed is not None:
            return caption_constraint.whole_sentences(best[1], allowed, eos)
        return best[1]


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def flops_per_frame(c: ModelConfig, caption_tokens: int = 24) -> Dict[str, float]:
    """Multiply-accumulates x2, matmuls only (LN/softmax/GELU ignored)."""
    D, N = c.enc_width, c.n_patches + (1 if c.use_cls else 0)
    hid = int(D * c.enc_mlp_ratio)
    enc = 2 * N * 3 * c.patch_size ** 2 * D
    enc += c.enc_depth * 2 * (N * D * 3 * D + N * D * D + 2 * N * N * D + 2 * N * D * hid)
    per = 2 if c.head_max_pool else 1
    heads = 2 * ((1 if c.use_cls else 0) + per + (3 * per if c.head_region_pool else 0)) * D * c.head_hidden + 2 * (0 + c.head_hidden * sum(HEADS.values()))
    Tv = c.n_visual_tokens
    d = c.dec_width
    proj = 2 * Tv * (D * d + d * d)
    dh = int(d * c.dec_mlp_ratio)
    cross_kv = c.dec_depth * 2 * Tv * d * 2 * d
    T = caption_tokens
    per_tok = c.dec_depth * 2 * (4 * d * d + d * d + T * d * 2 + Tv * d * 2 + 2 * d * dh) + 2 * d * c.vocab_size
    return {"encoder": enc, "heads": heads, "projector": proj + cross_kv, "decoder_per_token": per_tok,
            "frame_total_without_caption": enc + heads + proj + cross_kv,
            "caption_total": per_tok * T}
