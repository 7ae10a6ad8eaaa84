#!/usr/bin/env python3
"""Writes ~10 MB of mixed text for the tokenizer benchmark (deterministic).

    python3 Benchmarks/tokenizer/make_text.py OUT [MEGABYTES]

Lines mix the golden corpus (English, code, numbers, CJK, Arabic, emoji, odd whitespace) with
generated sentences of random words, numbers and identifiers, so that most words are not
repeats and word caches do not make the job trivial.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fixtures", "tokenizer", "corpus.json")

SYLLABLES = ["ka", "to", "ri", "men", "sol", "ex", "pra", "ling", "ta", "de", "qu", "ion", "str", "an",
             "ver", "go", "lo", "ne", "bi", "ur", "zo", "ph", "th", "ck", "ea", "ou"]
SCRIPTS = ["中文测试文本", "日本語のテキスト", "한국어 문장", "مرحبا بكم", "Привет мир", "Ελληνικά", "😀👍🏽🚀", "café naïve"]


def word(rng):
    w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
    r = rng.random()
    if r < 0.1:
        return w.capitalize()
    if r < 0.13:
        return w.upper()
    if r < 0.2:
        return str(rng.randint(0, 10 ** rng.randint(1, 7)))
    if r < 0.24:
        return w + "_" + word(rng)
    if r < 0.27:
        return rng.choice(SCRIPTS)
    return w


def sentence(rng):
    words = [word(rng) for _ in range(rng.randint(3, 25))]
    text = " ".join(words)
    punct = rng.choice([".", ".", "!", "?", ",", ";", "", " —"])
    if rng.random() < 0.15:
        text = "    " + text.replace(" ", "(", 1) + ")"
    if rng.random() < 0.05:
        text = "\t" + text
    return text[0].upper() + text[1:] + punct if text else text


def main():
    out = sys.argv[1]
    target = int(float(sys.argv[2]) * 1e6) if len(sys.argv) > 2 else 10_000_000
    corpus = [s for s in json.load(open(CORPUS)) if "\n" not in s]
    rng = random.Random(7)
    lines, size = [], 0
    while size < target:
        line = rng.choice(corpus) if rng.random() < 0.3 else sentence(rng)
        lines.append(line)
        size += len(line.encode()) + 1
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
