r"""Tokenizer: word-level for English, character-level for Mandarin, one shared vocabulary.

Split rules (also written to tokenizer.json["split"]):
  en: regex  [A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]   (case kept: "Wait" and "wait" are different tokens)
  zh: every non-space character is a token
Join rules:
  en: tokens joined with one space, except no space before  . , ! ? ; :
  zh: tokens concatenated with no separator
Sequence: [<bos>, <en>|<zh>, t1 ... tn, <eos>]; <pad> pads batches (ignored by the loss).
Unknown tokens map to <unk>.
"""
import json
import re
from typing import Dict, Iterable, List

SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<en>", "<zh>"]
EN_RE = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")
NO_SPACE_BEFORE = set(".,!?;:")


def split(text: str, lang: str) -> List[str]:
    if lang == "en":
        return EN_RE.findall(text)
    return [c for c in text if not c.isspace()]


def join(tokens: List[str], lang: str) -> str:
    if lang != "en":
        return "".join(tokens)
    out = ""
    for t in tokens:
        if not out or t in NO_SPACE_BEFORE:
            out += t
        else:
            out += " " + t
    return out


class Tokenizer:
    def __init__(self, vocab: List[str]):
        assert vocab[:len(SPECIALS)] == SPECIALS
        self.vocab = list(vocab)
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.pad, self.bos, self.eos, self.unk = (self.index[s] for s in SPECIALS[:4])
        self.lang_id = {"en": self.index["<en>"], "zh": self.index["<zh>"]}

    @classmethod
    def build(cls, texts_by_lang: Dict[str, Iterable[str]]) -> "Tokenizer":
        toks = set()
        for lang, texts in texts_by_lang.items():
            for t in texts:
                toks.update(split(t, lang))
        return cls(SPECIALS + sorted(toks))

    def __len__(self):
        return len(self.vocab)

    def encode(self, text: str, lang: str, add_special: bool = True) -> List[int]:
        ids = [self.index.get(t, self.unk) for t in split(text, lang)]
        return [self.bos, self.lang_id[lang]] + ids + [self.eos] if add_special else ids

    def decode(self, ids: Iterable[int], lang: str) -> str:
        toks = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i < len(SPECIALS):
                continue
            toks.append(self.vocab[i])
        return join(toks, lang)

    def to_json(self) -> Dict:
        return {
            "format_version": 1,
            "type": "word-en/char-zh",
            "vocab": self.vocab,
            "special_tokens": {s: self.index[s] for s in SPECIALS},
            "languages": {"en": "<en>", "zh": "<zh>"},
            "split": {"en": {"regex": EN_RE.pattern, "case": "kept"},
                      "zh": {"rule": "each non-whitespace Unicode scalar is one token"}},
            "join": {"en": {"separator": " ", "no_space_before": sorted(NO_SPACE_BEFORE)}, "zh": {"separator": ""}},
            "sequence": ["<bos>", "<lang>", "tokens...", "<eos>"],
            "unknown": "<unk>",
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f)["vocab"])


def all_caption_texts():
    """Enumerate every caption fragment the caption writer can produce -> complete vocabulary."""
    from .captions import caption
    from .generator import OBSTACLE_KINDS, POSITIONS, DISTANCES
    texts = {"en": [], "zh": []}
    lights = [None] + [{"kind": k, "state": s, "position": p} for k in ("pedestrian", "vehicle")
                       for s in ("red", "green", "yellow", "off", "unknown", "flashing") for p in POSITIONS]
    cws = [None] + [{"present": True, "offset": o} for o in POSITIONS]
    for lt in lights:
        for cw in cws:
            for lang in ("en", "zh"):
                texts[lang].append(caption({"light": lt, "crosswalk": cw, "obstacles": []}, lang))
    for k in OBSTACLE_KINDS:
        for p in POSITIONS:
            for d in DISTANCES:
                for lang in ("en", "zh"):
                    texts[lang].append(caption({"light": None, "crosswalk": None,
                                                "obstacles": [{"kind": k, "position": p, "distance": d}]}, lang))
    return texts


def default_tokenizer() -> Tokenizer:
    return Tokenizer.build(all_caption_texts())
