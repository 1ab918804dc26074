from lttw.generator import generate
from lttw.tokenizer import Tokenizer, all_caption_texts, default_tokenizer


def test_round_trip(tmp_path):
    tok = default_tokenizer()
    texts = all_caption_texts()
    for s in range(9_002_000, 9_002_060):
        c = generate(s).captions
        texts["en"].append(c["en"]); texts["zh"].append(c["zh"])
    for lang, ts in texts.items():
        for t in ts:
            ids = tok.encode(t, lang)
            assert ids[0] == tok.bos and ids[1] == tok.lang_id[lang] and ids[-1] == tok.eos
            assert tok.unk not in ids
            assert tok.decode(ids, lang) == t
    tok.save(tmp_path / "tokenizer.json")
    tok2 = Tokenizer.load(tmp_path / "tokenizer.json")
    assert tok2.vocab == tok.vocab
