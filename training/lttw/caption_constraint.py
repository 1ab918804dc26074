"""Captions held to the frame's facts while they are decoded (DESIGN.md safety rule 5; issue 13, point 4).

The decoder writes sentences from captions.py's closed set of templates. Conditioned on the experts
(the fusion) it says what the facts say almost always, but "almost" is not a guarantee: a raw
caption may still name a crossing, an obstacle or a light state the frame's facts deny. So each
decoding step may only pick a token that keeps the caption inside the facts' own sentences:

- the allowed sentences are those captions.py writes for the facts, in the caption's language: the
  light's (its state, kind and side; "No signal in view." when none is in view), the crossing's, and
  one per obstacle (all of them, not only the three a caption lists);
- every sentence of the caption is one of them, each at most once, in whatever order the decoder
  prefers; within a sentence a token is allowed when some unsaid allowed sentence continues the
  sentence so far with it;
- <eos> is allowed only between sentences, once one has been said (or when none can be);
- where the length limit cuts a sentence, the caption ends at the last whole sentence.

Greedy decoding then takes the allowed token with the highest logit (the lowest id on ties, as
torch.argmax over the masked logits does); beam search ranks only allowed candidates. The
log-probabilities stay those of the full vocabulary, so an unconstrained decoder that already says
the facts decodes exactly as before. Swift's CaptionConstraint (Sources/Narrator) follows this file
step for step; Tests/Fixtures/reference/constrained.json pins the two together.
"""
from typing import Dict, List, Optional, Sequence

from .captions import _light_parts, crosswalk_text, obstacle_text
from .tokenizer import Tokenizer

NO_SIGNAL = {"en": "No signal in view.", "zh": "未见信号灯。"}


def fact_sentences(facts: Dict, lang: str) -> List[str]:
    """Every sentence captions.py may write for `facts` in `lang`, without repeats."""
    light = facts.get("light")
    out: List[str] = []
    if not light or light.get("state") in (None, "none"):
        out.append(NO_SIGNAL[lang])
    else:
        urgent, later = _light_parts(light, lang)
        out += urgent + later
    cw = crosswalk_text(facts.get("crosswalk"), lang)
    if cw:
        out.append(cw)
    out += [obstacle_text(o, lang) for o in facts.get("obstacles") or []]
    return list(dict.fromkeys(out))


def allowed_sentences(facts: Dict, lang: str, tok: Tokenizer) -> List[List[int]]:
    """The facts' sentences as token ids; a sentence with a word the vocabulary lacks can never be
    decoded and is left out."""
    out = []
    for s in fact_sentences(facts, lang):
        ids = tok.encode(s, lang, add_special=False)
        if tok.unk not in ids:
            out.append(ids)
    return out


def _parse(prefix: Sequence[int], sentences: List[List[int]]):
    """(used sentence indices, start of the unfinished sentence) of a constrained prefix."""
    used, i, n = set(), 0, len(prefix)
    while i < n:
        for k, s in enumerate(sentences):
            if k not in used and len(s) <= n - i and list(prefix[i:i + len(s)]) == s:
                used.add(k)
                i += len(s)
                break
        else:
            break
    return used, i


def allowed_next(prefix: Sequence[int], sentences: List[List[int]], eos: int) -> List[int]:
    """The token ids the constraint allows after `prefix` (the generated tokens, prompt excluded),
    ascending; never empty (<eos> when nothing else fits)."""
    used, start = _parse(prefix, sentences)
    partial = list(prefix[start:])
    allowed = {s[len(partial)] for k, s in enumerate(sentences)
               if k not in used and len(s) > len(partial) and s[:len(partial)] == partial}
    if not partial and (used or not allowed):
        allowed.add(eos)
    return sorted(allowed) or [eos]


def whole_sentences(ids: Sequence[int], sentences: List[List[int]], eos: int) -> List[int]:
    """`ids` (a decoded caption) without an unfinished last sentence: what a caption cut by the
    length limit keeps. A caption ending in <eos> is returned as it is."""
    ids = list(ids)
    if ids and ids[-1] == eos:
        return ids
    _, start = _parse(ids, sentences)
    return ids[:start]


def masked(logits, prefixes: List[Sequence[int]], allowed: List[Optional[List[List[int]]]], eos: int):
    """`logits` [B, V] with -inf at every token the constraint refuses after each row's prefix
    (rows whose `allowed` is None are left as they are). A copy."""
    import torch
    out = logits.clone()
    for b, (prefix, sentences) in enumerate(zip(prefixes, allowed)):
        if sentences is None:
            continue
        keep = torch.zeros(out.shape[-1], dtype=torch.bool)
        keep[allowed_next(prefix, sentences, eos)] = True
        out[b, ~keep] = float("-inf")
    return out
