"""The notebook side of the docs build: nbdev's own processors (directives applied, `show_doc` API reference added,
hidden and exported cells removed, doc links), without Quarto, then small adaptations so MyST-NB renders the result.

Used by `docs/build.py`; the pure functions here are unit-tested in `tests/test_docs_build.py`.
"""
from __future__ import annotations
import ast, functools, html, inspect, json, re, uuid
from functools import partial

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_re_dir = re.compile(r"^\s*#\|\s*(.*?)\s*$")


# ---------------------------------------------------------------- show_doc with a parameter table
@functools.lru_cache(maxsize=None)
def _lib_names() -> dict[str, str]:
    "The library's qualified names by their name inside the module (`Anatomy` -> `research_kit.models.Anatomy`)."
    import configparser, importlib, os
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "settings.ini"), encoding="utf-8")
    try: d = importlib.import_module(cfg["DEFAULT"]["lib_name"] + "._modidx").d
    except Exception: return {}
    out, dup = {}, set()
    for mod, syms in d.get("syms", {}).items():
        for full in syms:
            short = full[len(mod) + 1:]
            if short in out and out[short] != full: dup.add(short)
            out[short] = full
    return {k: v for k, v in out.items() if k not in dup}


def _public_name(dotted: str) -> str:
    """The real qualified name of a dotted name in an annotation: a class the notebook itself defined (`__main__.X`,
    where the docs build runs it) gets the library module it is exported to; an object defined deep in a package
    gets the shortest module path that exposes the same object (`polars.dataframe.frame.DataFrame` -> `polars.DataFrame`)."""
    import importlib, sys
    if dotted.startswith("__main__."):
        short = dotted[len("__main__."):]
        return _lib_names().get(short, short)
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):  # the module the name lives in, then the object
        mod = sys.modules.get(".".join(parts[:i]))
        if mod is None: continue
        obj = mod
        for p in parts[i:]: obj = getattr(obj, p, None)
        if obj is None: return dotted
        for j in range(1, i):
            try: top = importlib.import_module(".".join(parts[:j]))
            except Exception: continue
            o = top
            for p in parts[i:]: o = getattr(o, p, None)
            if o is obj: return ".".join(parts[:j] + parts[i:])
        return dotted
    return dotted


def _anno(a) -> str:
    import types, typing
    if a is inspect.Parameter.empty: return ""
    if isinstance(a, str): return a
    if a is type(None): return "None"
    if typing.get_origin(a) in (typing.Union, types.UnionType):  # `str | Sequence[str] | None`, not Union[..., NoneType]
        return " | ".join(_anno(x) for x in typing.get_args(a))
    if isinstance(a, type) and a.__module__ == "builtins": return a.__name__
    s = inspect.formatannotation(a)
    s = re.sub(r"\b(typing|collections\.abc|torch\.nn\.modules\.\w+|pathlib)\.", "", s)
    return re.sub(r"(?<![\w.])(?:__main__|[A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)+", lambda m: _public_name(m.group(0)), s)


def _default(d) -> str:
    "A default as Python source: strings in double quotes (an empty one shows as `\"\"`, never as two typographic quotes)."
    if d is inspect.Parameter.empty: return ""
    if callable(d) and hasattr(d, "__name__"): return d.__name__
    r = f'"{d}"' if isinstance(d, str) and not re.search(r'["\\\n]', d) else repr(d)
    return r if len(r) <= 40 else r[:37] + "..."


_re_code_span = re.compile(r"(`+)(.+?)\1", re.S)


def md_text(s: str, table: bool = False) -> str:
    """Plain text (a docstring, a docments comment) made safe as markdown: outside code spans `<`, `>`, `&` become
    entities and `*`, `_`, `\\` are escaped (links stay links), so `block.*` keeps its asterisk and `<kind>` shows as written; inside code spans
    nothing is escaped (markdown shows code literally: an entity there would show as `&lt;kind&gt;`). In a table
    cell (`table=True`) pipes are escaped and newlines become spaces."""
    out, pos = [], 0
    def plain(t: str) -> str:
        t = html.escape(t, quote=False)
        return re.sub(r"([*_\\])", r"\\\1", t)
    for m in _re_code_span.finditer(s):
        out += [plain(s[pos:m.start()]), m.group(0)]; pos = m.end()
    out.append(plain(s[pos:]))
    r = "".join(out)
    return r.replace("|", "\\|").replace("\n", " ") if table else r


def docstring_body(s: str) -> str:
    """The lines of a docstring after its first, as markdown: prose escaped like `md_text`; a body with indented
    lines (an example, a third-party docstring's sections) shown verbatim in a text block, where escaping would show."""
    s = s.strip("\n")
    if re.search(r"^(?: {4}|\t)", s, re.M) or "```" in s:
        fence = "````" if "```" in s else "```"
        return f"{fence}text\n{s}\n{fence}"
    return md_text(s)


def _cell(s: str) -> str:
    "Text safe inside a markdown table cell."
    return md_text(str(s), table=True)


def _code_cell(s: str) -> str:
    "Python source (a type, a default) as a code span inside a markdown table cell."
    s = str(s).replace("\n", " ")
    if not s: return ""
    tick = "``" if "`" in s else "`"
    return f"{tick}{s.replace('|', chr(92) + '|')}{tick}"


def registered_target(sym):
    """The function behind a registered object (a callable instance with a `name`, e.g. a `MergeMethod` that wraps
    `fn`), or None: such objects are documented by their registered name and their function's signature, not by
    their repr."""
    if inspect.isroutine(sym) or inspect.isclass(sym) or isinstance(sym, property) or not callable(sym): return None
    for a in ("fn", "func", "__wrapped__", "function"):
        f = getattr(sym, a, None)
        if f is not None and inspect.isroutine(f): return f
    return type(sym).__call__ if isinstance(getattr(sym, "name", None), str) else None


def sym_name(sym) -> str:
    "The name a symbol is documented under: its qualified name, a registered object's `name`, never its repr."
    raw = getattr(sym, "fget", None) or sym
    for n in (getattr(raw, "__qualname__", None), getattr(raw, "__name__", None)):
        if isinstance(n, str) and n: return n
    n = getattr(raw, "name", None)
    if isinstance(n, str) and n.isidentifier(): return n
    f = registered_target(raw)
    return getattr(f, "__name__", None) or type(raw).__name__


def _library_twin(sym):
    "The library's own object for a symbol the docs build runs as `__main__.X` (None if there is none)."
    import importlib
    if getattr(sym, "__module__", None) != "__main__": return None
    full = _lib_names().get(getattr(sym, "__qualname__", ""))
    if not full: return None
    mod, _, attr = full.rpartition(".")
    try: obj = importlib.import_module(mod)
    except Exception: return None
    return getattr(obj, attr, None)


def param_rows(sym) -> list[tuple[str, str, str, str]]:
    "(name, type, default, details) per parameter of `sym`, then ('**Returns**', ...) if it has a return annotation."
    from fastcore.docments import docments
    target = sym.__init__ if inspect.isclass(sym) and "__init__" in vars(sym) else sym
    try: sig = inspect.signature(target, eval_str=True)
    except (TypeError, ValueError, NameError):
        try: sig = inspect.signature(target)
        except (TypeError, ValueError): return []
    try: dm = docments(sym, full=True)
    except Exception: dm = {}
    if not any((v or {}).get("docment") for v in dm.values()) and (lib := _library_twin(sym)) is not None:
        try: dm = docments(lib, full=True)   # a class the notebook defines has no source file to read comments from
        except Exception: pass
    rows = []
    for name, p in sig.parameters.items():
        if name in ("self", "cls"): continue
        pre = "*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else ""
        doc = (dm.get(name) or {}).get("docment") or ""
        rows.append((pre + name, _anno(p.annotation), _default(p.default), doc))
    if sig.return_annotation is not inspect.Signature.empty and not inspect.isclass(sym):
        rows.append(("**Returns**", _anno(sig.return_annotation), "", (dm.get("return") or {}).get("docment") or ""))
    return rows


def signature_line(sym, name: str, extra: list[str] | None = None) -> str:
    "A compact Python signature (the table carries the comments); `extra` replaces a `**kwargs` (a registered object's parameters)."
    target = sym.__init__ if inspect.isclass(sym) and "__init__" in vars(sym) else sym
    try: sig = inspect.signature(target, eval_str=True)
    except Exception:
        try: sig = inspect.signature(target)
        except Exception: return name
    ps, star = [], False
    for n, p in sig.parameters.items():
        if n in ("self", "cls"): continue
        if p.kind == p.KEYWORD_ONLY and not star: ps.append("*"); star = True
        if p.kind == p.VAR_POSITIONAL: star = True
        pre = "*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else ""
        s = pre + n + (f": {_anno(p.annotation)}" if _anno(p.annotation) else "")
        if p.default is not inspect.Parameter.empty: s += (" = " if _anno(p.annotation) else "=") + _default(p.default)
        if p.kind == p.VAR_KEYWORD and extra is not None:
            if not star: ps.append("*"); star = True
            ps += extra; continue
        ps.append(s)
    ret = "" if inspect.isclass(sym) or sig.return_annotation is inspect.Signature.empty else f" -> {_anno(sig.return_annotation)}"
    prefix = "class " if inspect.isclass(sym) else "async def " if inspect.iscoroutinefunction(sym) else "def "
    one = f"{prefix}{name}({', '.join(ps)}){ret}"
    if len(one) <= 100: return one
    return f"{prefix}{name}(\n" + "".join(f"    {p},\n" for p in ps) + f"){ret}"


def doc_markdown(sym, name: str | None = None, title_level: int = 3, source_url: str | None = None) -> str:
    "Markdown for one symbol: heading (with nbdev's anchor), signature, docstring, parameter table."
    from docutils.nodes import make_id
    from fastcore.docments import _docstring
    raw = getattr(sym, "fget", None) or sym
    if name is None or re.search(r"[^\w.]", name): name = sym_name(sym)   # never a repr as the title
    reg = registered_target(raw)
    obj = raw
    call = vars(type(obj))["__call__"] if reg is not None and "__call__" in vars(type(obj)) else None
    out = []
    anchor = name.lower()  # nbdev's anchor (its doc links use it); add it where the heading's own ids differ
    if anchor not in (make_id(name), re.sub(r"[^\w\- ]", "", anchor).replace(" ", "-")):
        out += [f'<span id="{html.escape(anchor)}"></span>', ""]
    out += [f"{'#' * title_level} {name}", ""]
    if source_url: out += [f'<a class="rk-source" href="{html.escape(source_url)}">source</a>', ""]
    extra = None
    if reg is not None:
        extra = [n + (f": {t}" if t else "") + (f" = {d}" if d else "") for n, t, d, _ in _registered_param_rows(obj, sig=True)]
    out += ["```python", signature_line(call or reg or raw, name, extra), "```", ""]
    if reg is not None: d = str(getattr(obj, "summary", "") or "") or inspect.getdoc(reg) or ""
    else:
        try: d = _docstring(raw)
        except Exception: d = inspect.getdoc(raw) or ""
    raw = call or reg or raw
    if d:
        first, _, rest = d.partition("\n")
        out += [f"*{md_text(first.strip())}*", ""]
        if rest.strip(): out += [docstring_body(rest), ""]
    rows = param_rows(raw) if callable(raw) else []
    if reg is not None:
        rows = [r for r in rows if not r[0].startswith("**")]
        ret = [r for r in rows if r[0] == "**Returns**"]
        rows = [r for r in rows if r[0] != "**Returns**"] + _registered_param_rows(obj) + ret
    if rows:
        show_default = any(r[2] for r in rows)
        hdr = ["", "**Type**"] + (["**Default**"] if show_default else []) + ["**Details**"]
        out += ['<div class="rk-params">', "", "| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
        for n, t, dflt, doc in rows:
            cells = [n if n == "**Returns**" else f"`{n}`", _cell(t)] + ([_code_cell(dflt)] if show_default else []) + [_cell(doc)]
            out.append("| " + " | ".join(cells) + " |")
        out += ["", "</div>", ""]
    return "\n".join(out)


def _registered_param_rows(obj, sig: bool = False) -> list[tuple[str, str, str, str]]:
    "Rows for a registered object's own typed parameters (`params` whose items have `name`, `default`, `doc`)."
    rows = []
    for p in getattr(obj, "params", None) or ():
        n = getattr(p, "name", None)
        if not isinstance(n, str): continue
        t = getattr(p, "type", None)
        t = t.__name__ if isinstance(t, type) else "" if t is None else str(t)
        if getattr(p, "per_model", False): t = (f"{t} | list[{t}]" if sig else f"{t}, per model") if t else t
        dflt = getattr(p, "default", inspect.Parameter.empty)
        doc = str(getattr(p, "doc", "") or "")
        rng = getattr(p, "range", None)
        if isinstance(rng, str) and rng: doc = f"{doc} ({rng})" if doc else rng
        rows.append((n, t, "" if repr(dflt) == "required" else _default(dflt), doc))
    return rows


class TableRenderer:
    "A `show_doc` renderer (nbdev's `renderer` protocol): the signature, the docstring and a docments table."
    def __init__(self, sym, name=None, title_level=3, **kw): self.sym, self.name, self.title_level = sym, name, title_level
    def _repr_markdown_(self):
        src = None
        try:
            from nbdev.doclinks import NbdevLookup
            from fastcore.docments import _fullname, _unwrap_sym
            src = NbdevLookup().code(_fullname(_unwrap_sym(self.sym)))
        except Exception: pass
        return doc_markdown(self.sym, self.name, self.title_level, src)
    def __repr__(self): return f"TableRenderer({self.name or getattr(self.sym, '__name__', self.sym)})"


# ---------------------------------------------------------------- nbdev processing, without executing heavy cells
def what_to_run(source: str, directives: dict) -> str | None:
    """What the docs build executes of a cell to render `show_doc`: 'cell' (show_doc cells: run and keep outputs),
    source code to run silently (exported cells; import statements, alone, from cells that also compute), or None."""
    if not source.strip() or directives.get("eval:", [""])[0].lower() == "false": return None
    if directives.keys() & {"export", "exports", "exporti", "exec_doc"}: return source
    try: tree = ast.parse(source)
    except SyntaxError: return None
    if any(isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) and getattr(n.value.func, "id", "") == "show_doc"
           for n in tree.body): return "cell"
    imps = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return "\n".join(ast.unparse(n) for n in imps) or None


def docs_processors():
    "nbdev's default processors with `exec_show_docs` replaced by one that never runs a notebook's heavy cells."
    from nbdev.processors import FilterDefaults, exec_show_docs
    from fastcore.basics import str2bool

    class exec_docs_safely(exec_show_docs):
        "Like nbdev's `exec_show_docs`, but mixed import+compute cells run only their imports, and show_doc tables."
        def begin(self):
            super().begin()
            if hasattr(self, "k"):
                from nbdev.showdoc import show_doc
                self.k.user_ns["show_doc"] = partial(show_doc, renderer=TableRenderer)

        def __call__(self, cell):
            if not self.nb.has_docs_ or not hasattr(self, "k") or cell.cell_type != "code": return
            fm = getattr(self.nb, "frontmatter_", {})
            if str2bool(fm.get("skip_showdoc", False)): return
            todo = what_to_run(cell.source, cell.directives_)
            if todo == "cell": self.k.cell(cell)
            elif todo:
                self.k.run(todo)
                if self.k.exc and not (cell.directives_.keys() & {"export", "exports", "exporti", "exec_doc"}):
                    # only the imports of a cell that also computes: they may need that cell (sys.path, installs)
                    from warnings import warn
                    warn(f"docs: skipped imports that failed ({self.k.exc!r}) in cell {cell.idx_}")
                    self.k.exc = None
            if self.k.exc:
                raise Exception(f"Error in notebook {fm.get('title', '')!r}, cell {cell.idx_}:\n{cell.source}") from self.k.exc

        def end(self): pass  # keep the widget state the notebook was saved with

    class DocsFilter(FilterDefaults):
        def base_procs(self): return [exec_docs_safely if p is exec_show_docs else p for p in super().base_procs()]
    return DocsFilter


def ensure_lookup(lib: str) -> None:
    """Let nbdev's doc links (`NbdevLookup`) know this library even when it was installed without nbdev's `nbdev`
    entry point (setup.py's `entry_points={'nbdev': ['research_kit=research_kit._modidx:d']}`)."""
    import nbdev.doclinks as dl
    from importlib.metadata import EntryPoint, entry_points
    if any(e.name == lib for e in entry_points(group="nbdev")): return
    extra = EntryPoint(name=lib, value=f"{lib}._modidx:d", group="nbdev")
    def eps(**kw):
        found = entry_points(**kw)
        return [*found, extra] if kw.get("group") == "nbdev" else found
    dl.entry_points = eps
    dl._build_lookup_table.cache_clear() if hasattr(dl._build_lookup_table, "cache_clear") else None


def process_notebook(src: str, dst: str) -> dict:
    "Run nbdev's processors on notebook `src` and write the result to `dst`; return its front matter."
    import os
    from execnb.nbio import read_nb, write_nb
    os.environ["IN_TEST"] = "1"  # as nbdev does while processing
    nb = read_nb(src)
    # execnb's writer takes any key named `source` for cell source; jslink's saved state has a list there
    widgets = json.loads(open(src, encoding="utf-8").read()).get("metadata", {}).get("widgets")
    nb.metadata.pop("widgets", None)
    # ... and plotly's JSON can hold one too (a Sankey's link.source): carried through as text, restored below
    plotly = [o.data for c in nb.cells for o in c.get("outputs", []) if PLOTLY_MIME in (o.get("data") or {})]
    for data in plotly: data[PLOTLY_MIME] = json.dumps(data[PLOTLY_MIME])
    docs_processors()()(nb)
    write_nb(nb, dst)
    if widgets or plotly:
        d = json.loads(open(dst, encoding="utf-8").read())
        if widgets: d.setdefault("metadata", {})["widgets"] = widgets
        for c in d["cells"]:
            for o in c.get("outputs", []):
                if isinstance((o.get("data") or {}).get(PLOTLY_MIME), str): o["data"][PLOTLY_MIME] = json.loads(o["data"][PLOTLY_MIME])
        open(dst, "w", encoding="utf-8").write(json.dumps(d, indent=1, ensure_ascii=False))
    return getattr(nb, "frontmatter_", {}) or {}


def proc_worker(root: str, src: str, dst: str) -> tuple[str, float]:
    "`process_notebook` in a worker process (run from the project root, as nbdev expects)."
    import os, time
    os.chdir(root); t = time.time()
    from nbdev.config import get_config
    ensure_lookup(get_config().lib_name)
    process_notebook(src, dst)
    return src, time.time() - t


# ---------------------------------------------------------------- API reference pages
def api_pages(site_url: str) -> dict[str, str]:
    "One API reference page per exported module: every public symbol, and public methods of classes."
    import importlib, inspect
    from research_kit import _modidx
    from nbdev.doclinks import NbdevLookup
    look = NbdevLookup()
    pages = {}
    for mod in sorted(_modidx.d["syms"]):
        m = importlib.import_module(mod)
        names = getattr(m, "__all__", None) or [n for n in vars(m) if not n.startswith("_")]
        short = mod.split(".", 1)[1]
        nbpage = next((v[0].split("#")[0] for v in _modidx.d["syms"][mod].values()), None)
        lines = [f"# {short}", "", f"`{mod}`: " + (inspect.getdoc(m) or "").split("\n")[0], ""]
        if nbpage: lines += [f"The narrative, examples and tests: <a class=\"rk-xref\" href=\"../{nbpage}\">{short}</a>.", ""]
        for n in names:
            obj = getattr(m, n, None)
            if obj is None or not (callable(obj) or isinstance(obj, property)): continue
            lines.append(doc_markdown(obj, n, 2, look.code(f"{mod}.{n}")))
            if inspect.isclass(obj):
                for a, v in vars(obj).items():
                    if a.startswith("_") or not (callable(v) or isinstance(v, (property, classmethod, staticmethod))): continue
                    f = v.__func__ if isinstance(v, (classmethod, staticmethod)) else v
                    lines.append(doc_markdown(f, f"{n}.{a}", 3, look.code(f"{mod}.{n}.{a}")))
        pages[f"api/{short}"] = localise_links("\n".join(lines), site_url, "../")
    return pages


def api_worker(root: str, site_url: str) -> dict[str, str]:
    "`api_pages` in a fresh process (run from the project root, as nbdev expects)."
    import os; os.chdir(root)
    from nbdev.config import get_config
    ensure_lookup(get_config().lib_name)
    return api_pages(site_url)


# ---------------------------------------------------------------- adaptations for MyST-NB
def cell_directives(source: str) -> tuple[dict, str]:
    "Quarto/nbdev `#| key: value` lines at the top of a cell as a dict, and the source without them."
    lines, d = source.splitlines(), {}
    i = 0
    while i < len(lines) and (m := _re_dir.match(lines[i])):
        k, _, v = m.group(1).partition(":")
        d[k.strip()] = v.strip() if _ else ""
        i += 1
    return d, "\n".join(lines[i:]).strip("\n")


def plotly_html(fig: dict, div_id: str | None = None) -> str:
    "A placeholder div and the figure's JSON; `_static/rk_plotly.js` draws it with the site's plotly.js."
    div_id = div_id or f"rk-plotly-{uuid.uuid4().hex[:12]}"
    payload = json.dumps({"data": fig.get("data", []), "layout": fig.get("layout", {}), "config": fig.get("config", {})})
    payload = payload.replace("</", "<\\/")
    h = (fig.get("layout") or {}).get("height") or 450
    return (f'<div class="rk-plotly" id="{div_id}" style="min-height:{int(h)}px"></div>\n'
            f'<script type="application/json" class="rk-plotly-data" data-for="{div_id}">{payload}</script>\n')


_re_ext_script = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", re.I)


PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")
# absolute paths of a machine (a kernel's temporary file, a virtual environment, a home): never shown on a page
_re_abs_path = re.compile(r"(?<![\w.:/~-])/(?:tmp|home|root|work|Users|usr|opt|var|private|mnt|srv|scratch|data|nfs)"
                          r"(?:/[^\s'\"<>:,;)\]]+)+")


def progress_views(metadata: dict) -> set:
    "The widget models that are progress bars (tqdm's notebook bar: a progress model, or a box holding one)."
    state = (((metadata or {}).get("widgets") or {}).get(WIDGET_STATE) or {}).get("state") or {}
    bars = {k for k, v in state.items() if v.get("model_name") in PROGRESS_MODELS}
    return bars | {k for k, v in state.items() if any(f"IPY_MODEL_{b}" in json.dumps(v.get("state", {}).get("children", [])) for b in bars)}


def scrub_paths(text: str) -> str:
    "Absolute paths replaced by their last part (`/tmp/ipykernel_1/123.py` -> `123.py`)."
    return _re_abs_path.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def is_noise(out: dict, bars: set = frozenset()) -> bool:
    """Whether a stored output is kernel noise, not a result: anything on stderr (warnings, progress bars, library
    logging: the results a notebook shows go to stdout or are displayed) and progress-bar widgets."""
    if out.get("output_type") == "stream" and out.get("name") == "stderr": return True
    view = (out.get("data") or {}).get(WIDGET_VIEW)
    return bool(view and view.get("model_id") in bars)


def adapt_output(out: dict, widget_ids: set) -> dict | None:
    "One output made self-contained: plotly JSON drawn locally, CDN loaders dropped, stateless widgets dropped."
    if out.get("output_type") == "stream":
        t = out.get("text", "")
        return {**out, "text": scrub_paths("".join(t) if isinstance(t, list) else t)}
    data = out.get("data")
    if not data: return out
    if "text/plain" in data:
        t = data["text/plain"]
        data = {**data, "text/plain": scrub_paths("".join(t) if isinstance(t, list) else t)}
        out = {**out, "data": data}
    if PLOTLY_MIME in data:
        return {**out, "data": {"text/html": plotly_html(data[PLOTLY_MIME])}, "metadata": {}}
    if WIDGET_VIEW in data:
        if (data[WIDGET_VIEW] or {}).get("model_id") in widget_ids: return out
        data = {k: v for k, v in data.items() if k not in (WIDGET_VIEW, "text/plain")}
        if not data: return None
    h = data.get("text/html")
    if h is not None:
        h = "".join(h) if isinstance(h, list) else h
        if _re_ext_script.search(h) or "cdn.plot.ly" in h:
            data = {k: v for k, v in data.items() if k != "text/html"}
            if not data or set(data) == {"text/plain"} and "PlotlyConfig" in h: return None
    return {**out, "data": data}


def _frontmatter_md(src: str, name: str | None = None) -> tuple[dict, str | None]:
    """The page's title and summary from nbdev's front matter. With `name` (the notebook's name, which is its module's
    name), every page is titled by it, one scheme for the whole site; a prose title the notebook gives
    ("Benchmark: ...") leads its summary instead."""
    import yaml
    s = src.strip()
    if not (s.startswith("---") and s.endswith("---")): return {}, None
    try: fm = yaml.safe_load(s.strip("-").strip()) or {}
    except yaml.YAMLError: return {}, None
    title, desc = str(fm.get("title") or "").strip(), str(fm.get("description") or "").strip()
    if name and title != name:
        if title: desc = (title.rstrip(".") + ". " + desc).strip()
        title = name
    md = f"# {title}\n"
    if desc: md += f"\n{{.rk-summary}}\n{desc}\n"
    return fm, md


def localise_links(text: str, site_url: str, prefix: str) -> str:
    "Links into this site (nbdev writes them absolute, at `site_url`) made relative, as raw HTML anchors."
    if not site_url: return text
    pat = re.compile(r"\[(`?)([^\]`]+)\1\]\(" + re.escape(site_url.rstrip("/")) + r"/([^)\s]+)\)")
    def sub(m):
        inner = f"<code>{html.escape(m.group(2))}</code>" if m.group(1) else html.escape(m.group(2))
        return f'<a class="rk-xref" href="{prefix}{m.group(3)}">{inner}</a>'
    return pat.sub(sub, text)


def page_links(text: str) -> str:
    "Markdown links between notebooks (`[x](84_tutorial.pruning_blocks.ipynb)`, right in JupyterLab) to the site's page names, which drop the number."
    return re.sub(r"\]\((?:\./)?\d+_([^)/\s]+\.ipynb)(#[^)\s]*)?\)", lambda m: f"]({m.group(1)}{m.group(2) or ''})", text)


STANDARD_WIDGETS = ("@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output")


def renderable_widgets(metadata: dict) -> tuple[set, dict]:
    """The widget models the site's standalone renderer can draw (the standard ones, and containers holding only
    those), and the notebook metadata with the others removed: a third-party widget module would be fetched
    from a CDN, so its views are left out rather than left broken."""
    ws = (metadata.get("widgets") or {}).get(WIDGET_STATE) or {}
    state = dict(ws.get("state") or {})
    bad = {k for k, v in state.items() if v.get("model_module") not in STANDARD_WIDGETS}
    while True:
        more = {k for k, v in state.items() if k not in bad and any(f"IPY_MODEL_{b}" in json.dumps(v) for b in bad)}
        if not more: break
        bad |= more
    if not bad: return set(state), metadata
    keep = {k: v for k, v in state.items() if k not in bad}
    return set(keep), {**metadata, "widgets": {**metadata["widgets"], WIDGET_STATE: {**ws, "state": keep}}}


def adapt_for_myst(nb: dict, site_url: str = "", depth: int = 0, name: str | None = None) -> dict:
    "Turn an nbdev-processed notebook (Quarto conventions) into one MyST-NB renders the same way; `name` titles the page."
    bars = progress_views(nb.get("metadata", {}))
    widget_ids, metadata = renderable_widgets(nb.get("metadata", {}))
    widget_ids -= bars
    nb = {**nb, "metadata": metadata}
    prefix = "../" * depth
    cells = []
    for c in nb["cells"]:
        src = "".join(c.get("source", ""))
        if c["cell_type"] == "raw":
            fm, md = _frontmatter_md(src, name)
            if md is not None and not cells:
                cells.append({"cell_type": "markdown", "metadata": {}, "source": md}); continue
            continue  # other raw cells are Quarto-only
        if c["cell_type"] == "markdown":
            src = page_links(localise_links(src, site_url, prefix))
            if "AUTOGENERATED! DO NOT EDIT" in src and src.strip().startswith("<!--"): continue
            cells.append({**c, "source": src}); continue
        d, body = cell_directives(src)
        tags = set(c.get("metadata", {}).get("tags", []))
        if d.get("include") == "false": continue
        if d.get("output") == "asis" and d.get("echo") == "false":
            # Quarto's `output: asis` (show_doc): the markdown becomes part of the page, headings in the page's TOC
            mds = [o["data"]["text/markdown"] for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
            for md in mds:
                md = localise_links("".join(md) if isinstance(md, list) else md, site_url, prefix)
                cells.append({"cell_type": "markdown", "metadata": {}, "source": md})
            if mds: continue
        if d.get("echo") == "false": tags.add("remove-input")
        if d.get("output") == "false": tags.add("remove-output")
        if d.get("code-fold") in ("true", "show"): tags.add("hide-input")
        outs = []
        for o in c.get("outputs", []):
            if is_noise(o, bars): continue
            o = adapt_output(o, widget_ids)
            if o is None: continue
            if "text/markdown" in o.get("data", {}):
                md = o["data"]["text/markdown"]
                o = {**o, "data": {**o["data"], "text/markdown": localise_links("".join(md) if isinstance(md, list) else md, site_url, prefix)}}
            outs.append(o)
        if not body.strip() and not outs: continue
        if not body.strip(): tags.add("remove-input")
        md_ = {k: v for k, v in c.get("metadata", {}).items() if k not in ("tags",)}
        if tags: md_["tags"] = sorted(tags)
        cells.append({**c, "source": body, "outputs": outs, "metadata": md_})
    for i, c in enumerate(cells): c["id"] = c.get("id") or f"rk{i:04d}"
    return {**nb, "cells": cells, "nbformat": 4, "nbformat_minor": max(5, nb.get("nbformat_minor", 5))}
