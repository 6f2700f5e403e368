"""The unified model's text tokenizer: builds a Hugging Face `tokenizer.json` and encodes text as the runtime does.

The runtime reads `tokenizer.json` with the JavaScript `@huggingface/tokenizers` library, so this module
reproduces that library's behaviour for the one shape of file it builds: lowercase, Metaspace with `▁` prepended
to every section (the JavaScript pre-tokenizer does not split on spaces, so BPE sees a section whole), BPE by merge
rank, and byte fallback (`<0x41>`) for pieces the vocabulary lacks. Special tokens are matched verbatim in the raw
text before anything else, as the library does.

The vocabulary is built so that every word of a given list is one token: each word `▁w1...wn` gets the chain of
merges `(▁, w1)`, `(▁w1, w2)`, ... Every merge's left side starts with `▁` and its right side is one character, so
merges never cross a word boundary and an unknown word splits into its longest known prefix and single characters.
"""
from __future__ import annotations

import argparse
import json
import string
from pathlib import Path
from typing import Iterable

METASPACE = "\u2581"
SPECIALS = ("<pad>", "<eos>", "<unk>", "<text>", "<image>", "</image>")
PUNCTUATION = ".,!?'\"-:;()/&"
BASE_CHARS = string.ascii_lowercase + string.digits + PUNCTUATION


def byte_token(b: int) -> str:
    """The byte-fallback token of one byte value, e.g. 65 -> `<0x41>`."""
    return f"<0x{b:02X}>"


def build_tokenizer_json(words: Iterable[str]) -> dict:
    """A `tokenizer.json` whose vocabulary holds the specials, the 256 bytes, `▁`, single characters and
    every given word (lowercased, with its leading `▁`) as one token."""
    words = sorted({w for text in words for w in text.lower().split()})
    chars = list(BASE_CHARS) + sorted({c for w in words for c in w} - set(BASE_CHARS))
    vocab: dict[str, int] = {}
    for tok in (*SPECIALS, *(byte_token(b) for b in range(256)), METASPACE, *chars):
        vocab.setdefault(tok, len(vocab))
    merges: list[list[str]] = []
    pieces = {METASPACE + w for w in words}
    prefixes = sorted({p[:k] for p in pieces for k in range(2, len(p) + 1)}, key=lambda p: (len(p), p))
    for prefix in prefixes:
        merges.append([prefix[:-1], prefix[-1]])
        vocab[prefix] = len(vocab)
    added = [
        {"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for s in SPECIALS
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True},
        "post_processor": None,
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": METASPACE}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab, "merges": merges,
        },
    }


class Tokenizer:
    """Encodes and decodes text with a `tokenizer.json` of the shape `build_tokenizer_json` writes."""

    def __init__(self, spec: dict):
        model = spec["model"]
        if model.get("type") != "BPE" or not model.get("byte_fallback"):
            raise ValueError(f"tokenizer.json: expected a BPE model with byte_fallback, found type {model.get('type')!r}")
        self.spec = spec
        self.vocab: dict[str, int] = dict(model["vocab"])
        for tok in spec.get("added_tokens", []):
            self.vocab[tok["content"]] = tok["id"]
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        merges = [m if isinstance(m, list) else m.split(" ", 1) for m in model["merges"]]
        self.ranks = {(a, b): i for i, (a, b) in enumerate(merges)}
        self.specials = [t["content"] for t in spec.get("added_tokens", [])]
        missing = [s for s in SPECIALS if s not in self.vocab]
        if missing:
            raise ValueError(f"tokenizer.json: expected the special tokens {list(SPECIALS)}, missing {missing}")

    @classmethod
    def from_words(cls, words: Iterable[str]) -> "Tokenizer":
        """A tokenizer whose vocabulary makes each given word one token."""
        return cls(build_tokenizer_json(words))

    @classmethod
    def from_file(cls, path: str | Path) -> "Tokenizer":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.spec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @property
    def vocab_size(self) -> int:
        """T: the number of text ids (0 .. T-1)."""
        return max(self.vocab.values()) + 1

    def token_id(self, token: str) -> int:
        """The id of a token by name, e.g. `<image>`."""
        if token not in self.vocab:
            raise KeyError(f"tokenizer has no token {token!r}")
        return self.vocab[token]

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, as the JavaScript library's `encode(text, {add_special_tokens: false}).ids`."""
        ids: list[int] = []
        for section in self._split_specials(text):
            if section in self.specials:
                ids.append(self.vocab[section])
                continue
            section = section.lower()
            if not section:
                continue
            section = section.replace(" ", METASPACE)
            if not section.startswith(METASPACE):
                section = METASPACE + section
            for piece in self._bpe(section):
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                else:
                    ids.extend(self.vocab[byte_token(b)] for b in piece.encode("utf-8"))
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False, clean_up: bool = True) -> str:
        """Text of `ids`, as the JavaScript library's `decode` (whose `clean_up_tokenization_spaces` defaults to on)."""
        tokens = [self.id_to_token.get(int(i), "<unk>") for i in ids]
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.specials]
        parts: list[str] = []
        pending = bytearray()
        for tok in (t.replace(METASPACE, " ") for t in tokens):
            if len(tok) == 6 and tok.startswith("<0x") and tok.endswith(">"):
                pending.append(int(tok[3:5], 16))
                continue
            if pending:
                parts.append(pending.decode("utf-8", errors="replace"))
                pending.clear()
            parts.append(tok)
        if pending:
            parts.append(pending.decode("utf-8", errors="replace"))
        text = "".join(parts)
        if text.startswith(" "):
            text = text[1:]
        if clean_up:
            for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(a, b)
        return text

    def _split_specials(self, text: str) -> list[str]:
        """Splits raw text around special tokens, longest match first, scanning left to right."""
        out: list[str] = []
        start = i = 0
        while i < len(text):
            match = max((s for s in self.specials if text.startswith(s, i)), key=len, default=None)
            if match is None:
                i += 1
                continue
            if i > start:
                out.append(text[start:i])
            out.append(match)
            i += len(match)
            start = i
        if start < len(text):
            out.append(text[start:])
        return out

    def _bpe(self, word: str) -> list[str]:
        """Merges the lowest-ranked adjacent pair (leftmost on ties) until no pair has a merge."""
        parts = list(word)
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                rank = self.ranks.get((parts[i], parts[i + 1]))
                if rank is not None and (best is None or rank < best):
                    best, at = rank, i
            if best is None:
                break
            parts[at : at + 2] = [parts[at] + parts[at + 1]]
        return parts


def main() -> None:
    ap = argparse.ArgumentParser(description="Build a tokenizer.json whose vocabulary makes each listed word one token.")
    ap.add_argument("words", help="text file: words separated by whitespace")
    ap.add_argument("out", help="tokenizer.json to write")
    args = ap.parse_args()
    tok = Tokenizer.from_words(Path(args.words).read_text(encoding="utf-8").split())
    tok.save(args.out)
    print(f"{args.out}: {tok.vocab_size} text tokens")


if __name__ == "__main__":
    main()
