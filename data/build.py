#!/usr/bin/env python3
"""Rebuild research_kit's shipped datasets (data/*.parquet) from Debian packages.

Users never need to run this: the parquet files ship with the package. It exists so anyone can check where
every row came from and rebuild the files from the original corpora:

    python data/build.py               # apt-get installs what is missing, then rewrites data/*.parquet
    python data/build.py --out DIR     # write somewhere else (the shipped files are left alone)
    python data/build.py --check       # build into a temporary folder and compare with the shipped files

Everything is deterministic (sorted inputs, fixed seeds, stable parquet writing), so two builds from the same
package versions give byte-identical files; `--check` falls back to a row-for-row comparison when the bytes
differ (e.g. another polars version). Needs only the standard library and polars.
"""
from __future__ import annotations
import argparse, gzip, hashlib, html, json, os, random, re, shutil, subprocess, sys, tempfile, uuid
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
SEED = 20260101
PACKAGES = ["wordnet-base", "dict-freedict-eng-deu", "dict-freedict-eng-fra", "dict-freedict-eng-spa",
            "python3.11-doc", "fortunes-min"]
WORDNET = Path("/usr/share/wordnet")
LEXNAMES_MAN = Path("/usr/share/man/man5/lexnames.5WN.gz")
DICTD = Path("/usr/share/dictd")
PYDOC = Path("/usr/share/doc/python3.11/html")
FORTUNES = Path("/usr/share/games/fortunes")
FREEDICT_LANGS = {"de": "deu", "fr": "fra", "es": "spa"}

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
# writing and checking

def write_parquet(df: pl.DataFrame, path: Path) -> None:
    "Stable parquet writing: zstd, no statistics, one row group."
    df.write_parquet(path, compression="zstd", compression_level=19, statistics=False, row_group_size=len(df) + 1)

def sha256(path: Path) -> str: return hashlib.sha256(path.read_bytes()).hexdigest()

def build_all(out: Path, versions: dict[str, str]) -> dict:
    "Build every dataset into `out` (written to a temporary folder beside it, then renamed)."
    frames = {}
    syn = read_wordnet()
    names = synset_names(syn)
    frames.update(build_retrieval(syn, names))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        manifest = {"packages": versions, "polars": pl.__version__, "files": {}}
        for name, df in sorted(frames.items()):
            p = tmp / f"{name}.parquet"
            write_parquet(df, p)
            manifest["files"][p.name] = {"rows": len(df), "bytes": p.stat().st_size, "sha256": sha256(p)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if out.exists():  # keep what else lives there (build.py, README.md): replace only our files
            for p in sorted(tmp.iterdir()): os.replace(p, out / p.name)
        else: tmp.rename(out)
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
    args = ap.parse_args(argv)
    versions = ensure_packages(install=not args.no_install)
    if args.check:
        with tempfile.TemporaryDirectory() as d:
            build_all(Path(d) / "data", versions)
            problems = compare(args.out, Path(d) / "data")
        for p in problems: print("  DIFFERENT:", p)
        print("check:", "OK" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    manifest = build_all(args.out, versions)
    for n, m in manifest["files"].items(): print(f"  {n}: {m['rows']} rows, {m['bytes'] / 1e6:.2f} MB")
    return 0

if __name__ == "__main__":
    sys.exit(main())
