"""Build the docs site into `_docs/` from the notebooks, offline and without Quarto (`make docs`).

1. vendor the JavaScript the pages need into `_build/docs/static/vendor` (copied to `_docs/_static/vendor`): the ipywidgets
   standalone renderer (`@jupyter-widgets/html-manager`'s `embed.js`) and MathJax from npm (`npm pack`, pinned,
   sha512-checked, cached), and plotly.js from the installed `plotly` package (the exact version its figures
   were written for). Nothing is fetched from a CDN by the pages;
2. process every notebook with nbdev's own processors (`show_doc` added for every export, hidden and exported
   cells removed, directives applied, doc links), executing only exported cells, imports and `show_doc` calls:
   stored outputs are shown as they are, a notebook is never re-run. Results are cached by content;
3. adapt them for MyST-NB (front matter, Quarto directives as cell tags, plotly JSON drawn by the site's plotly.js,
   links made relative), write one API reference page per module, and the index page's sidebar (bands);
4. `sphinx-build` (incremental) with MyST-NB and sphinx-book-theme into `_docs/`.
`python docs/build.py --clean` starts from nothing; `--jobs N` processes N notebooks at a time (default 2).
"""
from __future__ import annotations
import argparse, base64, configparser, hashlib, json, os, re, shutil, subprocess, sys, tarfile, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))
import nbproc  # noqa: E402

BUILD = ROOT / "_build" / "docs"
SRC, NPM, PROC = BUILD / "src", BUILD / "npm", BUILD / "proc"
VENDOR = BUILD / "static" / "vendor"  # html_static_path holds BUILD / "static", so this is _static/vendor on the site

# npm packages (name, version, sha512 integrity of the tarball, {member in the package: path under vendor/})
NPM_PKGS = [
    ("@jupyter-widgets/html-manager", "1.0.15",
     "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
     {"dist/embed.js": "widgets/embed.js", r"dist/[0-9a-f]{20}\.(woff2?|ttf|eot|svg)": "widgets/"}),
    ("mathjax", "3.2.2",
     "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
     {"es5/tex-svg-full.js": "mathjax/tex-svg-full.js"}),
]

# sidebar bands by the notebook's number (the project's numbering convention)
BANDS = [(0, 9, "Foundation"), (10, 19, "Losses"), (20, 29, "Probes"), (30, 39, "Merging"), (40, 49, "Pruning"),
         (50, 59, "Visualisation"), (60, 79, "More"), (80, 89, "Tutorials"), (90, 98, "Benchmarks"),
         (99, 99, "About this site")]


def settings() -> dict:
    cfg = configparser.ConfigParser(delimiters=["="]); cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return dict(cfg["DEFAULT"])


def log(*a): print("[docs]", *a, flush=True)


# ------------------------------------------------------------------ 1. vendored JavaScript
def _sri(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch_npm(name: str, version: str, integrity: str) -> Path:
    "The package tarball, from the cache or `npm pack` (the registry's ordinary client), checked against `integrity`."
    NPM.mkdir(parents=True, exist_ok=True)
    tgz = NPM / (name.lstrip("@").replace("/", "-") + f"-{version}.tgz")
    if not (tgz.exists() and _sri(tgz) == integrity):
        if not shutil.which("npm"): sys.exit(f"docs: npm is needed once to fetch {name}@{version} (apt-get install npm)")
        log(f"npm pack {name}@{version}")
        subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(NPM), "--silent"], check=True,
                       stdout=subprocess.DEVNULL)
        if _sri(tgz) != integrity:
            tgz.unlink(); sys.exit(f"docs: {name}@{version} does not match its pinned sha512 integrity")
    return tgz


def vendor() -> None:
    stamp = VENDOR / ".stamp"
    want = json.dumps([NPM_PKGS, _plotly_js()[1]])
    if stamp.exists() and stamp.read_text() == want: return
    if VENDOR.exists(): shutil.rmtree(VENDOR)
    for name, version, integrity, members in NPM_PKGS:
        with tarfile.open(fetch_npm(name, version, integrity)) as tf:
            for m in tf.getmembers():
                rel = m.name.split("/", 1)[1]
                for pat, dest in members.items():
                    if m.isfile() and re.fullmatch(pat, rel):
                        d = VENDOR / dest / Path(rel).name if dest.endswith("/") else VENDOR / dest
                        d.parent.mkdir(parents=True, exist_ok=True); d.write_bytes(tf.extractfile(m).read())
    src, ver = _plotly_js()
    (VENDOR / "plotly").mkdir(parents=True, exist_ok=True); shutil.copy2(src, VENDOR / "plotly" / "plotly.min.js")
    stamp.write_text(want)
    log(f"vendored widgets (html-manager), MathJax, plotly.js {ver}")


def _plotly_js() -> tuple[Path, str]:
    import importlib.util
    pkg = Path(importlib.util.find_spec("plotly").origin).parent
    js = pkg / "package_data" / "plotly.min.js"
    m = re.search(rb"plotly\.js v([\d.]+)", js.read_bytes()[:200])
    return js, m.group(1).decode() if m else "?"


# ------------------------------------------------------------------ 2./3. notebooks
def notebooks(nbs: Path) -> list[Path]:
    "The notebooks nbdev renders, in nbdev's order: index first, then by path (numbers give the order)."
    out = [p for p in nbs.rglob("*.ipynb")
           if not any(part.startswith(("_", ".")) for part in p.relative_to(nbs).parts)]
    return sorted(out, key=lambda p: (p.relative_to(nbs).parts[:-1], p.stem != "index", p.name))


def band(rel: Path) -> str | None:
    "The sidebar caption of a notebook, from its number (None for the index page)."
    if rel.stem == "index" and len(rel.parts) == 1: return None
    if len(rel.parts) > 1: return rel.parts[0].replace("_", " ").title()
    m = re.match(r"(\d+)_", rel.name)
    if not m: return "More"
    n = int(m.group(1))
    return next((b for lo, hi, b in BANDS if lo <= n <= hi), "More")


def _code_hash() -> str:
    h = hashlib.sha256()
    for p in [DOCS / "nbproc.py", ROOT / "settings.ini", *sorted((ROOT / "research_kit").rglob("*.py"))]:
        h.update(p.read_bytes())
    return h.hexdigest()


def process_all(nbs: Path, files: list[Path], jobs: int) -> dict[Path, dict]:
    "Processed notebooks (nbdev's processors), reusing cached ones whose notebook and library did not change."
    PROC.mkdir(parents=True, exist_ok=True)
    code = _code_hash()
    todo, out = [], {}
    for f in files:
        rel = f.relative_to(nbs)
        dst = PROC / rel
        key = hashlib.sha256(f.read_bytes() + code.encode()).hexdigest()
        kf = dst.with_suffix(".key")
        out[f] = dst
        if not (dst.exists() and kf.exists() and kf.read_text() == key): todo.append((f, dst, kf, key))
    if todo:
        log(f"processing {len(todo)} notebook(s) with nbdev's processors ({len(files) - len(todo)} cached)")
        for f, dst, *_ in todo: dst.parent.mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(max(1, min(jobs, len(todo))), mp_context=get_context("spawn")) as ex:
            futs = {ex.submit(nbproc.proc_worker, str(ROOT), str(f), str(dst)): (f, kf, key) for f, dst, kf, key in todo}
            for fut, (f, kf, key) in futs.items():
                _, dt = fut.result()
                kf.write_text(key); log(f"  {f.relative_to(nbs)} ({dt:.1f}s)")
    return {f: json.loads(d.read_text(encoding="utf-8")) for f, d in out.items()}


def page_name(rel: Path, nb: dict) -> str:
    "The page's path without suffix: nbdev's `output-file` (numbers dropped), so nbdev's links resolve."
    for c in nb["cells"][:2]:
        m = re.search(r"^output-file:\s*(\S+)\.html\s*$", "".join(c.get("source", "")), re.M)
        if m: return str(rel.parent / m.group(1)) if rel.parent != Path(".") else m.group(1)
    return str(rel.with_suffix("")).replace("\\", "/")


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not (path.exists() and path.read_text(encoding="utf-8") == text): path.write_text(text, encoding="utf-8")


def _toctree(caption: str, entries: list[str]) -> str:
    return "```{toctree}\n:caption: " + caption + "\n:hidden:\n\n" + "\n".join(entries) + "\n```\n"


def write_sources(nbs: Path, files: list[Path], processed: dict[Path, dict], site_url: str) -> list[str]:
    SRC.mkdir(parents=True, exist_ok=True)
    keep, bands, index_nb = set(), {}, None
    for f in files:
        rel = f.relative_to(nbs)
        nb = processed[f]
        name = page_name(rel, nb)
        b = band(rel)  # every page but the index is titled by its notebook's (module's) name: one scheme
        nb = nbproc.adapt_for_myst(nb, site_url, depth=name.count("/"), name=None if b is None else name.rsplit("/", 1)[-1])
        if b is None: index_nb = (name, nb); continue
        bands.setdefault(b, []).append(name)
        keep.add(name + ".ipynb"); _write_if_changed(SRC / (name + ".ipynb"), json.dumps(nb, indent=1, ensure_ascii=False))
    api_cache, key = PROC / "api.json", _code_hash() + site_url
    cached = json.loads(api_cache.read_text(encoding="utf-8")) if api_cache.exists() else {}
    if cached.get("key") == key: api = cached["pages"]
    else:  # in a fresh process: importing every module must not leak into this one
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as ex:
            api = ex.submit(nbproc.api_worker, str(ROOT), site_url).result()
        api_cache.write_text(json.dumps({"key": key, "pages": api}), encoding="utf-8")
    for name, text in api.items():
        keep.add(name + ".md"); _write_if_changed(SRC / (name + ".md"), text)
    order = [b for *_, b in BANDS if b in bands] + [b for b in bands if b not in [x for *_, x in BANDS]]
    tocs = "\n".join(_toctree(b, bands[b]) for b in order) + (_toctree("API reference", sorted(api)) if api else "")
    if index_nb is None:
        index = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        index["cells"].append({"cell_type": "markdown", "id": "rk-title", "metadata": {}, "source": f"# {settings().get('title', 'docs')}\n"})
    else: index = index_nb[1]
    index["cells"].append({"cell_type": "markdown", "id": "rk-toctree", "metadata": {}, "source": tocs})
    keep.add("index.ipynb"); _write_if_changed(SRC / "index.ipynb", json.dumps(index, indent=1, ensure_ascii=False))
    for p in list(SRC.rglob("*")):  # pages whose notebook went away
        if p.is_file() and str(p.relative_to(SRC)).replace("\\", "/") not in keep: p.unlink()
    return sorted(keep)


# ------------------------------------------------------------------ 4. sphinx
def sphinx(out: Path, quiet: bool = True) -> None:
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(DOCS), str(SRC), str(out),
           "-d", str(BUILD / "doctrees"), "--keep-going"] + (["-q"] if quiet else [])
    subprocess.run(cmd, check=True, cwd=ROOT)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clean", action="store_true", help="remove the build caches and _docs first")
    p.add_argument("--jobs", type=int, default=2, help="notebooks processed at a time")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    os.chdir(ROOT)
    cfg = settings()
    out = ROOT / cfg.get("doc_path", "_docs")
    if a.clean:
        for d in (BUILD, out):
            if d.exists(): shutil.rmtree(d)
    t0 = time.time()
    vendor()
    nbs = ROOT / cfg.get("nbs_path", "nbs")
    files = notebooks(nbs)
    processed = process_all(nbs, files, a.jobs)
    site_url = cfg.get("doc_host", "").rstrip("/") + cfg.get("doc_baseurl", "")
    pages = write_sources(nbs, files, processed, site_url)
    log(f"{len(pages)} pages; running sphinx")
    sphinx(out, quiet=not a.verbose)
    stale = out / "genindex.html"  # conf.py turns the (empty) general index off; an older build may have left one
    if stale.exists(): stale.unlink()
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log(f"built {out.relative_to(ROOT)}/ in {time.time() - t0:.1f}s, {size / 2**20:.1f} MiB")


if __name__ == "__main__": main()
