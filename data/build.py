#!/usr/bin/env python3
"""Rebuild research_kit's shipped datasets (data/*.parquet) from Debian packages.

Users never need to run this: the parquet files ship with the package. It exists so anyone can check where
every row came from and rebuild the files from the original corpora:

    python data/build.py --overwrite   # apt-get installs what is missing, then rewrites data/*.parquet
    python data/build.py --out DIR     # write a new folder DIR (the shipped files are left alone)
    python data/build.py --check       # build into a temporary folder and compare with the shipped files

Everything is deterministic (sorted inputs, fixed seeds, stable parquet writing), so two builds from the same
package versions give byte-identical files; `--check` falls back to a row-for-row comparison when the bytes
differ (e.g. another polars version). Needs polars and research_kit's core (for the one write rule: the output
folder is written in full beside its destination, then renamed; an existing folder is replaced only with
--overwrite and only if research_kit wrote it, as the shipped data/ folder's marker says, and then only the files
this script writes; it never writes into or around the corpora it reads).
"""
from __future__ import annotations
import argparse, gzip, hashlib, html, json, os, random, re, shutil, subprocess, sys, tempfile, uuid
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
SEED = 20260101
FREEDICT_LANGS = {"de": "deu", "es": "spa", "fr": "fra"}
PACKAGES = ["wordnet-base", "python3.11-doc", "fortunes-min", "fortunes",
            *[f"dict-freedict-{a}-{b}" for c in FREEDICT_LANGS.values() for a, b in (("eng", c), (c, "eng"))]]
WORDNET = Path("/usr/share/wordnet")
LEXNAMES_MAN = Path("/usr/share/man/man5/lexnames.5WN.gz")
DICTD = Path("/usr/share/dictd")
PYDOC = Path("/usr/share/doc/python3.11/html")
FORTUNES = Path("/usr/share/games/fortunes")

# ---------------------------------------------------------------------------------------------------------------
# Debian packages

def package_versions(names=PACKAGES) -> dict[str, str]:
    "Installed versions of the Debian packages (empty string when not installed)."
    out = {}
    for n in names:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", n], capture_output=True, text=True)
        out[n] = r.stdout.strip() if r.returncode == 0 else ""
    return out

def ensure_packages(install: bool = True) -> dict[str, str]:
    "Install the missing Debian packages with apt-get (needs root); return their versions."
    vers = package_versions()
    missing = [n for n, v in vers.items() if not v]
    if missing:
        if not install: sys.exit(f"build.py: missing Debian packages {missing}; run without --no-install, as root")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], check=True, env=env)
        vers = package_versions()
    return vers

# ---------------------------------------------------------------------------------------------------------------
# WordNet 3.0: our own parser of the database files (see wndb(5WN))

def lexnames() -> dict[int, str]:
    "Lexicographer file number -> name (noun.animal, ...), read from the lexnames(5WN) manual page."
    names = {}
    for line in gzip.open(LEXNAMES_MAN, "rt", encoding="utf-8"):
        m = re.match(r"^(\d\d)\s+((?:noun|verb|adj|adv)\.\w+)\s", line)
        if m: names[int(m.group(1))] = m.group(2)
    assert len(names) == 45, f"expected 45 lexicographer files, found {len(names)}"
    return names

def clean_lemma(w: str) -> str:
    "A lemma as written in a data file, without adjective position markers like (a), (p), (ip)."
    return re.sub(r"\((a|p|ip)\)$", "", w)

def read_wordnet() -> dict[str, dict]:
    "Every synset, keyed 'OFFSET-P' (P in n v a r; satellites use a): lemmas, lexname, pointers, gloss."
    lex = lexnames()
    syn = {}
    for fname, p in [("data.noun", "n"), ("data.verb", "v"), ("data.adj", "a"), ("data.adv", "r")]:
        for line in open(WORDNET / fname, encoding="utf-8"):
            if line.startswith("  "): continue  # licence header
            head, _, gloss = line.partition(" | ")
            f = head.split()
            off, lexnum, ss_type, wcnt = f[0], int(f[1]), f[2], int(f[3], 16)
            words = [(clean_lemma(f[4 + 2 * i]), int(f[5 + 2 * i], 16)) for i in range(wcnt)]
            i = 4 + 2 * wcnt
            pcnt = int(f[i]); i += 1
            ptrs = []
            for _ in range(pcnt):
                sym, toff, tpos, st = f[i:i + 4]; i += 4
                tpos = "a" if tpos == "s" else tpos
                ptrs.append((sym, f"{toff}-{tpos}", int(st[:2], 16), int(st[2:], 16)))
            gloss = gloss.strip()
            definition = re.split(r';\s*"', gloss, maxsplit=1)[0].strip().rstrip(";").strip()
            syn[f"{off}-{p}"] = dict(id=f"{off}-{p}", pos=ss_type, lexname=lex[lexnum], words=[w for w, _ in words],
                                     ptrs=ptrs, gloss=gloss, definition=definition)
    return syn

def synset_names(syn: dict[str, dict]) -> dict[str, str]:
    "Readable names like 'dog.n.01': the synset's first lemma, its pos, and its sense number in the index files."
    order = {}
    for fname, p in [("index.noun", "n"), ("index.verb", "v"), ("index.adj", "a"), ("index.adv", "r")]:
        for line in open(WORDNET / fname, encoding="utf-8"):
            if line.startswith("  "): continue
            f = line.split()
            lemma, synset_cnt, p_cnt = f[0], int(f[2]), int(f[3])
            offs = f[4 + p_cnt + 2:]
            assert len(offs) == synset_cnt
            order[(lemma, p)] = [f"{o}-{p}" for o in offs]
    names = {}
    for sid, s in syn.items():
        p = sid[-1]
        first = s["words"][0].lower()
        n = order[(first, p)].index(sid) + 1
        names[sid] = f"{first}.{s['pos']}.{n:02d}"
    return names

def lemma_text(w: str) -> str: return w.replace("_", " ")
def lemma_key(w: str) -> str: return w.lower()

def hypernyms(s: dict) -> list[str]:
    return [t for sym, t, _, _ in s["ptrs"] if sym in ("@", "@i")]

def hyponyms(s: dict) -> list[str]:
    return [t for sym, t, _, _ in s["ptrs"] if sym in ("~", "~i")]

def depths(syn: dict[str, dict]) -> dict[str, int]:
    "Shortest hypernym-path length to a root, for nouns and verbs."
    memo: dict[str, int] = {}
    def depth(sid: str, seen=()) -> int:
        if sid in memo: return memo[sid]
        hs = [h for h in hypernyms(syn[sid]) if h not in seen]
        d = 0 if not hs else 1 + min(depth(h, seen + (sid,)) for h in hs)
        memo[sid] = d
        return d
    sys.setrecursionlimit(10000)
    return {sid: depth(sid) for sid in sorted(syn) if syn[sid]["pos"] in "nv"}

# ---------------------------------------------------------------------------------------------------------------
# 1. WordNet retrieval, multi-positive

RETRIEVAL_QUERIES = {"train": 5000, "dev": 1000, "test": 1000}
RETRIEVAL_CORPUS = {"train": 24000, "dev": 12000, "test": 12000}  # docs per split: positives + distractors
MULTI_SHARE = 0.8  # share of queries drawn from synsets with at least two distinct lemmas
MAX_HYPERNYM, MAX_SIBLING = 3, 2  # noisy extra positives per query

def doc_keys(s: dict) -> list[str]:
    "The distinct lemma keys of a synset, in synset order."
    return list(dict.fromkeys(lemma_key(w) for w in s["words"]))

def build_retrieval(syn: dict[str, dict], names: dict[str, str]):
    rng = random.Random(SEED)
    # the display text of a doc key: the lowercase spelling when WordNet has it, else the smallest spelling
    spellings = defaultdict(set)
    for s in syn.values():
        for w in s["words"]: spellings[lemma_key(w)].add(w)
    def text_of(k): return lemma_text(k if k in spellings[k] else min(spellings[k]))
    all_keys = sorted(spellings)

    ok = [sid for sid in sorted(syn) if syn[sid]["definition"]]
    multi = [sid for sid in ok if len(doc_keys(syn[sid])) >= 2]
    single = [sid for sid in ok if len(doc_keys(syn[sid])) == 1]
    rng.shuffle(multi); rng.shuffle(single)
    splits, used_m, used_s = {}, 0, 0
    for split, n in RETRIEVAL_QUERIES.items():
        nm = round(n * MULTI_SHARE)
        splits[split] = sorted(multi[used_m:used_m + nm] + single[used_s:used_s + n - nm])
        used_m += nm; used_s += n - nm

    q_rows, c_rows, r_rows = [], [], []
    for split, sids in splits.items():
        qrels = []
        for sid in sids:
            s = syn[sid]
            gold = doc_keys(s)
            qrels += [(sid, k, "gold") for k in gold]
            seen = set(gold)
            if s["pos"] in "nv":
                hyper = sorted(hypernyms(s))
                hyp_keys = [k for h in hyper for k in doc_keys(syn[h])]
                for k in list(dict.fromkeys(hyp_keys))[:MAX_HYPERNYM]:
                    if k not in seen: qrels.append((sid, k, "hypernym")); seen.add(k)
                sibs = sorted({c for h in hyper for c in hyponyms(syn[h])} - {sid})
                rng.shuffle(sibs)
                for sib in sibs[:MAX_SIBLING]:
                    k = doc_keys(syn[sib])[0]
                    if k not in seen: qrels.append((sid, k, "sibling")); seen.add(k)
            q_rows.append(dict(split=split, query_id=sid, text=s["definition"], synset=names[sid], pos=s["pos"]))
        pos_keys = sorted({k for _, k, _ in qrels})
        n_extra = RETRIEVAL_CORPUS[split] - len(pos_keys)
        assert n_extra > 0, f"{split}: corpus size {RETRIEVAL_CORPUS[split]} below its {len(pos_keys)} positives"
        pos_set = set(pos_keys)
        pool = [k for k in all_keys if k not in pos_set]
        distractors = rng.sample(pool, n_extra)
        for k in sorted(pos_set | set(distractors)): c_rows.append(dict(split=split, doc_id=k, text=text_of(k)))
        r_rows += [dict(split=split, query_id=q, doc_id=k, kind=kind) for q, k, kind in qrels]
    queries = pl.DataFrame(q_rows, schema={"split": pl.String, "query_id": pl.String, "text": pl.String,
                                          "synset": pl.String, "pos": pl.String})
    corpus = pl.DataFrame(c_rows, schema={"split": pl.String, "doc_id": pl.String, "text": pl.String})
    qrels = pl.DataFrame(r_rows, schema={"split": pl.String, "query_id": pl.String, "doc_id": pl.String,
                                        "kind": pl.String})
    return {"wordnet_retrieval_queries": queries, "wordnet_retrieval_corpus": corpus,
            "wordnet_retrieval_qrels": qrels}

# ---------------------------------------------------------------------------------------------------------------
# 2. WordNet geometry: lemmas with their lexicographer file (45 classes) and depth

GEOMETRY_PER_CLASS = 400

def build_geometry(syn: dict[str, dict], names: dict[str, str]) -> dict[str, pl.DataFrame]:
    rng = random.Random(SEED + 2)
    dep = depths(syn)
    by_lex = defaultdict(list)
    for sid in sorted(syn): by_lex[syn[sid]["lexname"]].append(sid)
    rows = []
    for lex in sorted(by_lex):
        sids = by_lex[lex]
        pick = sorted(rng.sample(sids, min(GEOMETRY_PER_CLASS, len(sids))))
        for sid in pick:
            s = syn[sid]
            rows.append(dict(lemma=lemma_text(s["words"][0]), synset=names[sid], pos=s["pos"], lexname=lex,
                             depth=dep.get(sid), n_lemmas=len(doc_keys(s)), gloss=s["definition"]))
    df = pl.DataFrame(rows, schema={"lemma": pl.String, "synset": pl.String, "pos": pl.String, "lexname": pl.String,
                                    "depth": pl.Int32, "n_lemmas": pl.Int32, "gloss": pl.String})
    return {"wordnet_geometry": df}

# ---------------------------------------------------------------------------------------------------------------
# 3. Antonym / contrast pairs with paired prompts

CONTRAST_TEMPLATES = {
    "a": ["It was {}.", "I would call it {}.", "Everyone agreed that it was {}.", "In the end, it turned out {}.",
          "To be honest, it seemed {}."],
    "n": ["The story is about {}.", "They talked about {} all evening.", "The key word here is {}.",
          "Her essay was on {}."],
    "v": ["They decided to {}.", "It is time to {}.", "She wanted to {}.", "We had no choice but to {}."],
    "r": ["She did it {}.", "He answered {}.", "They moved {}.", "It happened {}."],
}
POS_ORDER = {"a": 0, "s": 0, "n": 1, "v": 2, "r": 3}

def lemma_counts() -> Counter:
    "How often each lemma was sense-tagged in the semantic concordance (cntlist.rev), summed over its senses."
    c = Counter()
    for line in open(WORDNET / "cntlist.rev", encoding="utf-8"):
        key, _, cnt = line.split()
        c[key.split("%")[0].lower()] += int(cnt)
    return c

def build_contrast(syn: dict[str, dict], names: dict[str, str]) -> dict[str, pl.DataFrame]:
    freq = lemma_counts()
    pairs = {}
    for sid in sorted(syn):
        s = syn[sid]
        for sym, tid, src, tgt in s["ptrs"]:
            if sym != "!" or not src or not tgt: continue
            a, b = (sid, s["words"][src - 1]), (tid, syn[tid]["words"][tgt - 1])
            if lemma_key(a[1]) == lemma_key(b[1]): continue  # WordNet has a few self-antonyms (kern/kern)
            pairs.setdefault(tuple(sorted([a, b])), None)
    rows = []
    for (a, b) in sorted(pairs):
        fa, fb = freq[lemma_key(a[1])], freq[lemma_key(b[1])]
        # the more frequent (usually the unmarked) word first, ties alphabetical
        if (fb, lemma_key(a[1])) > (fa, lemma_key(b[1])): a, b, fa, fb = b, a, fb, fa
        pos = "a" if syn[a[0]]["pos"] in "as" else syn[a[0]]["pos"]
        w, x = lemma_text(a[1]), lemma_text(b[1])
        h = int(hashlib.sha256(f"{a[0]}|{b[0]}|{w}|{x}".encode()).hexdigest(), 16)
        tmpls = CONTRAST_TEMPLATES[pos]
        t = tmpls[h % len(tmpls)]
        rows.append(dict(word=w, antonym=x, pos=pos, synset=names[a[0]], antonym_synset=names[b[0]],
                         count=min(fa, fb), template=t, prompt=t.format(w), prompt_antonym=t.format(x)))
    df = pl.DataFrame(rows, schema={"word": pl.String, "antonym": pl.String, "pos": pl.String, "synset": pl.String,
                                    "antonym_synset": pl.String, "count": pl.Int32, "template": pl.String,
                                    "prompt": pl.String, "prompt_antonym": pl.String})
    df = (df.with_columns(_r=pl.col("pos").replace_strict(POS_ORDER, return_dtype=pl.Int8))
            .sort(["_r", "count", "word", "antonym"], descending=[False, True, False, False]).drop("_r"))
    return {"contrast_pairs": df}

# ---------------------------------------------------------------------------------------------------------------
# 4. Cross-lingual word pairs from FreeDict (dictd format: .index + .dict.dz), kept when both directions agree

B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}

def b64_int(s: str) -> int:
    n = 0
    for c in s: n = n * 64 + B64[c]
    return n

def dictd_entries(stem: str):
    "(headword, entry text) for every entry of a dictd dictionary, in index order (headword as the entry spells it)."
    data = gzip.open(DICTD / f"{stem}.dict.dz").read()
    for line in open(DICTD / f"{stem}.index", encoding="utf-8"):
        key, off, size = line.rstrip("\n").split("\t")
        if key.startswith("00-database") or key.startswith("00database"): continue
        text = data[b64_int(off):b64_int(off) + b64_int(size)].decode("utf-8")
        head = re.split(r"\s+[/<(]", text.split("\n", 1)[0], maxsplit=1)[0].strip()  # the index key is lowercased
        yield head, text

def entry_translations(text: str, firsts: bool = False) -> list:
    "The translations in a FreeDict entry (lines after the headword, without examples, notes and references)."
    out = []
    for line in text.split("\n")[1:]:
        st = line.strip()
        if not st or line.startswith("   ") or st.startswith(("see:", "Note:", "Synonym", '"')): continue
        st = re.sub(r"^\d+\.\s*", "", st)
        st = re.sub(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)", " ", st)
        ts = [t for t in (re.sub(r"\s+", " ", t).strip() for t in st.split(",")) if t]
        out += [(t, i == 0) for i, t in enumerate(ts)]  # with: is it the first translation of its sense line?
    return out if firsts else [t for t, _ in out]

EN_WORD = re.compile(r"^[a-z]+(?:-[a-z]+)?$")
XX_WORD = re.compile(r"^[^\W\d_]+(?:-[^\W\d_]+)?$")

def entry_weight(text: str) -> int:
    "How central an entry is: 1 + its example sentences + its cross-references (main senses carry the most)."
    ex = sum(1 for l in text.split("\n") if l.startswith("      \""))
    refs = sum(l.count("{") for l in text.split("\n") if l.strip().startswith(("see:", "Synonym")))
    return 1 + ex + refs

def build_word_pairs(syn: dict[str, dict]) -> dict[str, pl.DataFrame]:
    english = {lemma_key(w) for s in syn.values() for w in s["words"]}  # WordNet lemmas: base forms only
    rows = []
    for lang, code in sorted(FREEDICT_LANGS.items()):
        fwd = defaultdict(Counter); back = defaultdict(Counter); order = defaultdict(dict)
        for head, text in dictd_entries(f"freedict-eng-{code}"):
            if not EN_WORD.match(head) or head not in english: continue
            w = entry_weight(text)
            for t, first in entry_translations(text, firsts=True):
                if XX_WORD.match(t):
                    fwd[head][t] += w * (2 if first else 1); order[head].setdefault(t, len(order[head]))
        for head, text in dictd_entries(f"freedict-{code}-eng"):
            w = entry_weight(text)
            for t, first in entry_translations(text, firsts=True): back[head.lower()][t.lower()] += w * (2 if first else 1)
        for en in sorted(fwd):
            ok = [t for t in fwd[en] if back[t.lower()][en] > 0]
            # most central first: entries listing the pair in both directions, weighted by their examples and
            # cross-references, doubled where the word leads its sense line; ties keep dictionary order
            ok.sort(key=lambda t: (-(fwd[en][t] + back[t.lower()][en]), order[en][t]))
            rows += [dict(lang=lang, en=en, translation=t, rank=i) for i, t in enumerate(ok)]
    df = pl.DataFrame(rows, schema={"lang": pl.String, "en": pl.String, "translation": pl.String, "rank": pl.Int32})
    return {"word_pairs": df}

# ---------------------------------------------------------------------------------------------------------------
# 5. LM text corpora by domain: calibration and held-out evaluation chunks

CHUNKS = {"calibration": 400, "eval": 100}  # chunks per domain and split
CHUNK_MIN, CHUNK_MAX = 1000, 2000  # characters per chunk
EVAL_SHARE = 0.2  # share of documents (pages, fortune groups, gloss groups) held out for evaluation
FORTUNE_FILES = ["art", "computers", "cookie", "definitions", "education", "food", "fortunes", "goedel", "humorists",
                 "kids", "law", "linux", "literature", "love", "magic", "medicine", "miscellaneous", "news",
                 "paradoxum", "people", "pets", "platitudes", "riddles", "science", "songs-poems", "sports",
                 "startrek", "tao", "wisdom", "work", "zippy"]
PYDOC_SECTIONS = ["faq", "howto", "library", "reference", "tutorial", "using"]

class DocText(HTMLParser):
    "Text of the main part of a Sphinx page (div role=main), paragraphs separated by blank lines."
    BLOCK = {"p", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "pre", "tr", "table",
             "blockquote", "br", "dl", "ul", "ol", "figure", "caption"}
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0; self.skip = 0; self.pre = 0; self.parts = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.depth:
            if tag in ("div", "section"): self.depth += 1
            if self.skip or tag in ("script", "style") or "headerlink" in (a.get("class") or ""): self.skip += 1
            if tag == "pre": self.pre += 1
            if tag in self.BLOCK: self.parts.append("\n\n")
        elif tag == "div" and a.get("role") == "main": self.depth = 1
    def handle_endtag(self, tag):
        if not self.depth: return
        if self.skip and tag in ("a", "script", "style", "span"): self.skip -= 1
        if tag == "pre": self.pre -= 1
        if tag in self.BLOCK: self.parts.append("\n\n")
        if tag in ("div", "section"): self.depth -= 1
    def handle_data(self, data):
        if self.depth and not self.skip: self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))
    def text(self) -> str:
        t = "".join(self.parts).replace("\u00b6", "")
        paras = [p.strip("\n") for p in re.split(r"\n\s*\n", t)]
        paras = [p[1:] if re.match(r"^ \S", p) else p for p in paras]  # a space left over from inline markup
        return "\n\n".join(p.rstrip() for p in paras if p.strip())

def pack(paragraphs: list[str]) -> list[str]:
    "Pack paragraphs into chunks of CHUNK_MIN..CHUNK_MAX characters (long paragraphs split at line/sentence ends)."
    pieces = []
    for p in paragraphs:
        while len(p) > CHUNK_MAX:
            cut = max(p.rfind("\n", 0, CHUNK_MAX), p.rfind(". ", 0, CHUNK_MAX) + 1)
            if cut < CHUNK_MIN // 2: cut = p.rfind(" ", 0, CHUNK_MAX)
            if cut <= 0: cut = CHUNK_MAX
            pieces.append(p[:cut].strip()); p = p[cut:].strip()
        if p: pieces.append(p)
    chunks, cur = [], ""
    for p in pieces:
        if cur and len(cur) + 2 + len(p) > CHUNK_MAX: chunks.append(cur); cur = ""
        cur = f"{cur}\n\n{p}" if cur else p
        if len(cur) >= CHUNK_MIN: chunks.append(cur); cur = ""
    if len(cur) >= CHUNK_MIN // 2: chunks.append(cur)
    return chunks

def python_docs_documents() -> list[tuple[str, list[str]]]:
    docs = []
    for sec in PYDOC_SECTIONS:
        for f in sorted((PYDOC / sec).rglob("*.html")):
            parser = DocText(); parser.feed(f.read_text(encoding="utf-8")); parser.close()
            paras = parser.text().split("\n\n")
            docs.append((str(f.relative_to(PYDOC)), paras))
    return docs

def fortune_documents() -> list[tuple[str, list[str]]]:
    docs = []
    for name in FORTUNE_FILES:
        raw = (FORTUNES / name).read_bytes().decode("utf-8", errors="replace")
        items = [t.strip("\n") for t in re.split(r"^%\s*$", raw, flags=re.M)]
        items = [t for t in items if t.strip()]
        for i in range(0, len(items), 20):  # groups of 20 consecutive fortunes are the units of the split
            docs.append((f"{name}:{i // 20}", items[i:i + 20]))
    return docs

def gloss_documents(syn: dict[str, dict]) -> list[tuple[str, list[str]]]:
    by_lex = defaultdict(list)
    for sid in sorted(syn):
        s = syn[sid]
        by_lex[s["lexname"]].append(f"{', '.join(lemma_text(w) for w in s['words'])}: {s['gloss']}")
    docs = []
    for lex in sorted(by_lex):
        lines = by_lex[lex]
        for i in range(0, len(lines), 50):  # groups of 50 consecutive synsets of a lexicographer file
            docs.append((f"{lex}:{i // 50}", ["\n".join(lines[i:i + 50])]))
    return docs

def build_corpus(syn: dict[str, dict]) -> dict[str, pl.DataFrame]:
    rows = []
    for k, (domain, docs) in enumerate([("python-docs", python_docs_documents()), ("fortunes", fortune_documents()),
                                        ("wordnet-glosses", gloss_documents(syn))]):
        rng = random.Random(SEED + 10 + k)
        order = list(range(len(docs))); rng.shuffle(order)
        n_eval = round(EVAL_SHARE * len(docs))
        split_of = {i: ("eval" if j < n_eval else "calibration") for j, i in enumerate(order)}
        for split, n in CHUNKS.items():
            chunks = [(src, j, c) for i, (src, paras) in enumerate(docs) if split_of[i] == split
                      for j, c in enumerate(pack(paras))]
            assert len(chunks) >= n, f"{domain}/{split}: only {len(chunks)} chunks for {n}"
            for src, j, c in sorted(rng.sample(chunks, n)):
                rows.append(dict(domain=domain, split=split, chunk_id=f"{domain}/{src}/{j}", source=src, text=c))
    df = pl.DataFrame(rows, schema={"domain": pl.String, "split": pl.String, "chunk_id": pl.String,
                                    "source": pl.String, "text": pl.String})
    return {"lm_corpus": df}

# ---------------------------------------------------------------------------------------------------------------
# writing and checking

def write_parquet(df: pl.DataFrame, path: Path) -> None:
    "Stable parquet writing: zstd, no statistics, one row group."
    df.write_parquet(path, compression="zstd", compression_level=19, statistics=False, row_group_size=len(df) + 1)

def sha256(path: Path) -> str: return hashlib.sha256(path.read_bytes()).hexdigest()

CORPORA = [WORDNET, LEXNAMES_MAN, DICTD, PYDOC, FORTUNES]

def build_all(out: Path, versions: dict[str, str], overwrite: bool = False) -> dict:
    "Build every dataset into `out` (written to a temporary folder beside it, then renamed)."
    from research_kit.core import MARKER, check_out
    check_out(out, inputs=CORPORA, overwrite=overwrite)   # before the long build: refuse early
    frames = {}
    syn = read_wordnet()
    names = synset_names(syn)
    frames.update(build_retrieval(syn, names))
    frames.update(build_geometry(syn, names))
    frames.update(build_contrast(syn, names))
    frames.update(build_word_pairs(syn))
    frames.update(build_corpus(syn))
    out = check_out(out, inputs=CORPORA, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        manifest = {"packages": versions, "polars": pl.__version__, "files": {}}
        for name, df in sorted(frames.items()):
            p = tmp / f"{name}.parquet"
            write_parquet(df, p)
            manifest["files"][p.name] = {"rows": len(df), "bytes": p.stat().st_size, "sha256": sha256(p)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if out.exists():  # ours (check_out saw the marker): replace only the files written here, keep build.py, README.md
            for p in sorted(tmp.iterdir()): os.replace(p, out / p.name)
        else:
            (tmp / MARKER).write_text(json.dumps({"written_by": "research_kit", "what": "datasets (data/build.py)"}) + "\n")
            tmp.rename(out)
    finally:
        if tmp.exists(): shutil.rmtree(tmp, ignore_errors=True)
    return manifest

def compare(a: Path, b: Path) -> list[str]:
    "Differences between two data folders: byte-identical files pass; else rows are compared (order kept)."
    problems = []
    fa = sorted(p.name for p in a.glob("*.parquet")); fb = sorted(p.name for p in b.glob("*.parquet"))
    if fa != fb: problems.append(f"file lists differ: {fa} vs {fb}")
    for n in sorted(set(fa) & set(fb)):
        if (a / n).read_bytes() == (b / n).read_bytes(): print(f"  {n}: byte-for-byte identical"); continue
        da, db = pl.read_parquet(a / n), pl.read_parquet(b / n)
        if da.equals(db): print(f"  {n}: bytes differ, rows identical ({len(da)} rows)")
        else: problems.append(f"{n}: rows differ ({len(da)} vs {len(db)} rows)")
    return problems

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write (default: this data/ folder)")
    ap.add_argument("--check", action="store_true", help="build into a temporary folder and compare with --out")
    ap.add_argument("--no-install", action="store_true", help="never call apt-get; fail if a package is missing")
    ap.add_argument("--overwrite", action="store_true", help="replace the files of an existing --out that research_kit wrote")
    args = ap.parse_args(argv)
    versions = ensure_packages(install=not args.no_install)
    if args.check:
        with tempfile.TemporaryDirectory() as d:
            build_all(Path(d) / "data", versions)
            problems = compare(args.out, Path(d) / "data")
        for p in problems: print("  DIFFERENT:", p)
        print("check:", "OK" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    manifest = build_all(args.out, versions, overwrite=args.overwrite)
    for n, m in manifest["files"].items(): print(f"  {n}: {m['rows']} rows, {m['bytes'] / 1e6:.2f} MB")
    return 0

if __name__ == "__main__":
    sys.exit(main())
