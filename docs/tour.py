"""Run the tour (`nbs/index.ipynb`) headless and write it as one self-contained HTML file (`make tour`).

nbconvert's own HTML loads require.js, MathJax and the widget manager from CDNs, so offline the widget outputs
vanish. Here the page carries everything it needs, inlined: the JavaScript the docs site already vendors
(`docs/build.py`: the ipywidgets standalone renderer with its fonts, MathJax when the notebook has maths, and the
installed plotly's plotly.js), and the notebook's outputs adapted as for the docs site (`docs/nbproc.py`: plotly
figures drawn by the page's own plotly.js, CDN loaders dropped, widgets drawn from their saved state).

    python docs/tour.py                      # execute nbs/index.ipynb, write _artifacts/tour.html
    python docs/tour.py --no-execute NB.ipynb --out x.html   # render the stored outputs of any notebook
"""
from __future__ import annotations
import argparse, base64, copy, json, os, re, sys, time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))
import build, nbproc  # noqa: E402

_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{{ resources.rk_mathjax }}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}<style>{{ resources.rk_css }}</style>{%- endblock extra_css -%}
{% block footer_js %}{{ resources.rk_footer_js }}{% endblock footer_js %}
"""

_CSS = """div.rk-plotly { width: 100%; max-width: 100%; overflow-x: auto; }
.jp-OutputArea-output .widget-subarea { max-width: 100%; }"""

_MATHJAX_CONFIG = """window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
  processEscapes: true}, svg: {fontCache: 'global'}, startup: {typeset: true}};"""


def _script(js: str) -> str:
    "An inline <script> whose text cannot end the element early."
    return "<script>\n" + re.sub(r"</(script)", r"<\\/\1", js, flags=re.I) + "\n</script>"


def widgets_js() -> str:
    """The vendored standalone widget renderer, made to work inlined: its fonts become data URIs (woff2, the format
    Chromium and every current browser picks; the older formats are left empty) and webpack's public path, which
    it would look up from the script's own URL, falls back to the page."""
    wdir = build.VENDOR / "widgets"
    js = (wdir / "embed.js").read_text(encoding="utf-8")
    mime = {"woff2": "font/woff2", "woff": "font/woff", "ttf": "font/ttf", "eot": "application/vnd.ms-fontobject",
            "svg": "image/svg+xml"}
    def font(m):
        name, ext = m.group(1), m.group(2)
        if ext != "woff2" or not (wdir / name).exists(): return '"data:,"'
        return '"data:' + mime[ext] + ";base64," + base64.b64encode((wdir / name).read_bytes()).decode() + '"'
    js, n = re.subn(r'\b\w\.p\+"([0-9a-f]{20}\.(woff2|woff|ttf|eot|svg))"', font, js)
    js, m = re.subn(r'if\(!(\w)\)throw new Error\("Automatic publicPath is not supported in this browser"\);',
                    r"if(!\1)\1=document.baseURI;", js)
    if not (n and m): sys.exit("tour: the vendored widget renderer does not look as expected (fonts or public path)")
    return js


def has_math(nb: dict) -> bool:
    "Whether a markdown cell holds TeX maths ($...$, $$...$$, \\(...\\) or \\[...\\])."
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    md = re.sub(r"```.*?```|`[^`\n]*`", "", md, flags=re.S)
    # inline $...$ as pandoc reads it: no space inside either dollar, no digit right after the closing one
    return bool(re.search(r"\$\$.+?\$\$|(?<![\\$])\$(?=\S)[^$\n]*?(?<=\S)\$(?!\d)|\\\(.+?\\\)|\\\[.+?\\\]", md, re.S))


def adapt(nb: dict) -> dict:
    "The notebook's outputs made self-contained, as for the docs site (plotly JSON drawn locally, CDN HTML dropped)."
    nb = copy.deepcopy(nb)
    widget_ids, nb["metadata"] = nbproc.renderable_widgets(nb.get("metadata", {}))
    for c in nb["cells"]:
        if c["cell_type"] != "code": continue
        c["outputs"] = [o for o in (nbproc.adapt_output(o, widget_ids) for o in c.get("outputs", [])) if o is not None]
    return nb


def execute(path: Path, timeout: int) -> dict:
    "Run the notebook in a fresh kernel (in its folder), saving the widget state; plotly gives its JSON mimetype."
    import tempfile
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient
    os.environ.pop("PLOTLY_RENDERER", None)
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")  # the kernel is this interpreter's
    nb = nbformat.read(path, as_version=4)
    # over IPC sockets in a private folder: over TCP, ipykernel warns that the traffic is unencrypted (it never leaves
    # this machine either way); Windows has no IPC transport, so it keeps TCP and the warning
    with tempfile.TemporaryDirectory() as d:
        km = KernelManager(kernel_name="python3", **({"transport": "ipc", "ip": os.path.join(d, "kernel")} if os.name == "posix" else {}))
        try:
            NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                           store_widget_state=True).execute()
        finally:
            if km.has_kernel: km.shutdown_kernel()   # a kernel manager passed in is the caller's to shut down
    return json.loads(nbformat.writes(nb))


def to_html(nb: dict) -> str:
    "One HTML page with every script it runs inlined: nothing is loaded from anywhere else."
    import jinja2, nbformat
    from nbconvert import HTMLExporter
    build.vendor()
    nb = adapt(nb)
    exp = HTMLExporter(template_name="lab", extra_loaders=[jinja2.DictLoader({"rk_tour.html.j2": _TEMPLATE})])
    exp.template_file = "rk_tour.html.j2"
    footer = []
    if "rk-plotly-data" in json.dumps(nb):  # plotly.js (4 MB) only with a figure to draw
        footer += [_script(build._plotly_js()[0].read_text(encoding="utf-8")),
                   _script((DOCS / "_static" / "rk_plotly.js").read_text(encoding="utf-8"))]
    if (nb.get("metadata", {}).get("widgets") or {}).get(nbproc.WIDGET_STATE, {}).get("state"):
        footer.append(_script(widgets_js()))
    mathjax = ""
    if has_math(nb):
        mathjax = _script(_MATHJAX_CONFIG) + "\n" + _script((build.VENDOR / "mathjax" / "tex-svg-full.js").read_text(encoding="utf-8"))
    body, _ = exp.from_notebook_node(nbformat.reads(json.dumps(nb), as_version=4), resources={
        "rk_footer_js": "\n".join(footer), "rk_mathjax": mathjax, "rk_css": _CSS})
    return body


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebook", nargs="?", type=Path, default=ROOT / "nbs" / "index.ipynb")
    p.add_argument("--out", type=Path, default=ROOT / "_artifacts" / "tour.html")
    p.add_argument("--no-execute", action="store_true", help="render the stored outputs instead of running the notebook")
    p.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    a = p.parse_args(argv)
    t0 = time.time()
    nb = json.loads(a.notebook.read_text(encoding="utf-8")) if a.no_execute else execute(a.notebook.resolve(), a.timeout)
    html = to_html(nb)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(a.out.suffix + ".tmp"); tmp.write_text(html, encoding="utf-8"); tmp.replace(a.out)
    print(f"tour written to {a.out} ({len(html) / 2**20:.1f} MiB, {time.time() - t0:.0f}s)")


if __name__ == "__main__": main()
