"""The docs site in a real browser (slow: `pytest --runslow tests/test_docs_site.py`, part of `make test-all`).

Builds the site (`docs/build.py`, incremental), serves `_docs/` on loopback, opens every page in headless Debian
Chromium driven by Playwright (never `playwright install`), and checks: no console errors, no request leaves
loopback, every plotly figure has data, fits its column (at a 1280 px window) and hides no trace under an identical one, no table reaches past its column, every widget output rendered something,
every page is titled by its notebook's name and none links to an empty general index, the rendered page shows none of
test_docs_build.page_problems' defects (nor figure text escaped twice), no table is wider than
its column (data tables scroll inside their own box; parameter tables wrap). A full-page screenshot per page
goes to `_artifacts/docs_screens/`. Set RK_DOCS_PREBUILT=1 to test the `_docs/` already built.
"""
import contextlib, functools, http.server, json, os, shutil, subprocess, sys, threading, time
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_docs_build import page_problems  # noqa: E402  (one list of page defects: built HTML and the rendered DOM)
SITE = ROOT / "_docs"
SHOTS = ROOT / "_artifacts" / "docs_screens"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
LOCAL = {"127.0.0.1", "localhost"}
pytestmark = pytest.mark.slow


def _chromium() -> str:
    "Debian's chromium; installed with apt-get when missing and we are root, else the test is skipped."
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        r = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True)
        if r.returncode:
            subprocess.run(["apt-get", "update"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: install Debian's chromium (`apt-get install -y chromium`, needs root)")
    return CHROMIUM


def _sync_playwright():
    try: from playwright.sync_api import sync_playwright
    except ImportError:  # a dev requirement; install it here if this environment lacks it (never its browsers)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"], check=True)
        from playwright.sync_api import sync_playwright
    return sync_playwright


@contextlib.contextmanager
def jupyterlab(tmp_path: Path, root_dir: Path, extra: tuple = ()):
    "A real JupyterLab server on loopback (no token), serving `root_dir` with settings kept in `tmp_path`; yields its port."
    import socket, urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    bindir = Path(sys.executable).parent
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"), "PATH": str(bindir) + os.pathsep + os.environ["PATH"]}
    log = open(tmp_path / f"lab{port}.log", "w")
    lab = subprocess.Popen([str(bindir / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                            "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root_dir}",
                            *(["--allow-root"] if os.geteuid() == 0 else []), *extra],
                           cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            try: urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2); break
            except Exception: time.sleep(0.5)
        yield port
    finally:
        lab.terminate(); lab.wait(20); log.close()


@contextlib.contextmanager
def _browser():
    "A headless Debian Chromium driven by Playwright (never a browser of Playwright's own); closed on exit."
    sync_playwright, chromium = _sync_playwright(), _chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try: yield browser
        finally: browser.close()


def loopback_only(browser):
    "A 1280 px browser context in which every request outside loopback is refused and recorded: (context, list)."
    ctx, outside = browser.new_context(viewport={"width": 1280, "height": 900}), []
    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("http", "https", "ws", "wss") and u.hostname not in LOCAL:
            outside.append(r.request.url); r.abort()
        else: r.continue_()
    ctx.route("**/*", route)
    return ctx, outside


@pytest.fixture(scope="module")
def site():
    if os.environ.get("RK_DOCS_PREBUILT") != "1":
        subprocess.run([sys.executable, str(ROOT / "docs" / "build.py")], check=True, cwd=ROOT)
    assert (SITE / "index.html").exists(), "the docs build wrote no _docs/index.html"
    handler = functools.partial(_Quiet, directory=str(SITE))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


def pages() -> list[str]:
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html") if not p.relative_to(SITE).parts[0].startswith("_"))


# a figure is wider than its column when its drawing is wider than the article's text column, or overflows (scrolls in)
# its own box: then panels and legends are cut off at the right
WIDE_FIGURES = """() => [...document.querySelectorAll('div.rk-plotly')].flatMap(d => {
  const svg = d.querySelector('svg.main-svg'), col = d.closest('article, .bd-article, main') || d.parentElement;
  if (!svg) return [];
  const w = svg.getBoundingClientRect().width, c = col.getBoundingClientRect().width;
  return (w > c + 1 || d.scrollWidth > d.clientWidth + 1) ? [`${d.id}: ${Math.round(w)} px in a ${Math.round(c)} px column`] : [];
})"""

# a table is wider than its column when it (or the box it scrolls in) reaches past the article's text column; a
# parameter table (show_doc's, in .rk-params) must also fit without scrolling: its cells wrap
WIDE_TABLES = """() => [...document.querySelectorAll('table')].flatMap(t => {
  const col = t.closest('article, .bd-article, main');
  if (!col || !t.getClientRects().length) return [];
  let box = t.parentElement;
  while (box && box !== col && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
  const inBox = box && box !== col, r = (inBox ? box : t).getBoundingClientRect(), c = col.getBoundingClientRect();
  const name = (t.closest('section') || {id: ''}).id + ' ' + (t.id || (t.className || 'table'));
  const out = [];
  if (r.right > c.right + 1 || r.left < c.left - 1) out.push(`${name}: ${Math.round(r.width)} px in a ${Math.round(c.width)} px column`);
  else if (t.closest('.rk-params') && inBox && box.scrollWidth > box.clientWidth + 1)
    out.push(`${name}: parameter table scrolls (${box.scrollWidth} px in ${box.clientWidth} px)`);
  return out;
})"""

# a trace is hidden when another one on the same axes has the same x and y and is drawn the same way (same dash, mode
# and marker, not thinner): the reader sees one line where the figure has two. `viz.mark_coincident` styles such pairs.
HIDDEN_TRACES = """() => [...document.querySelectorAll('div.rk-plotly')].flatMap(d => {
  const tr = (d._fullData || []).filter(t => t.visible === true && ['scatter', 'scattergl'].includes(t.type) && t.x && t.y);
  const same = (a, b) => a.length === b.length && a.every((v, i) => { const w = b[i];
      return (typeof v === 'number' && typeof w === 'number') ? Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(v), Math.abs(w)) : v === w; });
  const out = [];
  for (let i = 0; i < tr.length; i++) for (let j = i + 1; j < tr.length; j++) {
    const a = tr[i], b = tr[j];
    if (a.xaxis !== b.xaxis || a.yaxis !== b.yaxis || !same([...a.x], [...b.x]) || !same([...a.y], [...b.y])) continue;
    const la = a.line || {}, lb = b.line || {}, ma = a.marker || {}, mb = b.marker || {};
    const distinct = (la.dash || 'solid') !== (lb.dash || 'solid') || (lb.width || 2) < (la.width || 2) || a.mode !== b.mode
                     || String(ma.symbol || 'circle') !== String(mb.symbol || 'circle');
    if (!distinct) out.push(`${d.id}: trace '${b.name}' hides trace '${a.name}'`);
  }
  return out;
})"""

WITHOUT_FIGURES = """() => { const c = document.documentElement.cloneNode(true);
  c.querySelectorAll('div.rk-plotly').forEach(d => d.replaceChildren()); return c.outerHTML; }"""
# text a figure shows with an entity still in it (`&lt;s&gt;` on a token axis): its labels were escaped twice
FIGURE_ESCAPES = """() => [...document.querySelectorAll('div.rk-plotly svg text')].map(t => t.textContent)
  .filter(t => /&(lt|gt|amp|quot|#[0-9]+);/.test(t)).slice(0, 5)"""

_CHECK = """() => {
  const figs = [...document.querySelectorAll('div.rk-plotly')];
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = views.map(v => { const w = v.previousElementSibling;
      return !!(w && w.classList.contains('widget-subarea') && w.children.length && w.getBoundingClientRect().height > 0); });
  return {figs: figs.length, figs_ok: figs.filter(d => d.data && d.data.length > 0 && d.querySelector('.main-svg')).length,
          widgets: views.length, widgets_ok: rendered.filter(Boolean).length,
          math: document.querySelectorAll('mjx-container').length,
          wide: (""" + WIDE_FIGURES + """)(),
          wide_tables: (""" + WIDE_TABLES + """)(),
          hidden: (""" + HIDDEN_TRACES + """)(),
          h1: (document.querySelector('article h1, main h1') || {textContent: ''}).textContent.replace(/[#\\s\u00b6]+$/, '').trim(),
          genindex: document.querySelectorAll('a[href$="genindex.html"]').length,
          main: document.body.innerText.includes('__main__.') || [...document.querySelectorAll('strong')].some(e => e.textContent === 'main')};
}"""


def test_every_page_in_chromium(site):
    assert (SITE / "_static" / "vendor" / "widgets" / "embed.js").exists() and (SITE / "_static" / "vendor" / "plotly" / "plotly.min.js").exists()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"): old.unlink()
    report, totals = {}, {"figs": 0, "widgets": 0}
    with _browser() as browser:
        ctx, outside = loopback_only(browser)
        for name in pages():
            page, t0 = ctx.new_page(), time.time()
            errors, failed, n_out = [], [], len(outside)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
            page.goto(f"{site}/{name}", wait_until="load")
            try:  # figures and widgets draw asynchronously after load
                page.wait_for_function("""() => [...document.querySelectorAll('div.rk-plotly')].every(d => d.data)
                    && [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
                       .every(v => v.previousElementSibling && v.previousElementSibling.classList.contains('widget-subarea')
                                   && v.previousElementSibling.children.length)""", timeout=30_000)
            except Exception: pass  # the checks below say what is missing
            page.wait_for_timeout(300)
            res = page.evaluate(_CHECK)
            # the page as the browser holds it (repr headings, <em> in names, double escaping, warnings, paths), without the
            # figures' SVG, whose attributes escape label markup by design; a figure's visible text is checked on its own
            shown = page_problems(page.evaluate(WITHOUT_FIGURES)) + [f"figure text escaped twice: {t!r}" for t in page.evaluate(FIGURE_ESCAPES)]
            page.screenshot(path=str(SHOTS / (name.replace("/", "__")[:-5] + ".png")), full_page=True)
            page.close()
            problems = errors + failed + [f"request to outside: {u}" for u in outside[n_out:]]
            if res["figs_ok"] < res["figs"]: problems.append(f"{res['figs'] - res['figs_ok']} of {res['figs']} plotly figures without data")
            if res["widgets_ok"] < res["widgets"]: problems.append(f"{res['widgets'] - res['widgets_ok']} of {res['widgets']} widget outputs empty")
            problems += [f"figure wider than its column: {w}" for w in res["wide"]]
            problems += [f"table wider than its column: {w}" for w in res["wide_tables"]]
            problems += [f"figure with a hidden trace: {w}" for w in res["hidden"]]
            problems += shown
            stem = Path(name).stem
            if stem not in ("index", "search") and res["h1"] != stem:  # one title scheme: the notebook's (module's) name
                problems.append(f"page title {res['h1']!r}, expected {stem!r}")
            if res["genindex"]: problems.append("links to the (empty) general index")
            if res["main"]: problems.append("a type shown as __main__.X instead of its qualified name")
            report[name] = (res, problems)
            print(f"{name}: {res} {time.time() - t0:.1f}s {'OK' if not problems else problems}")
            totals["figs"] += res["figs"]; totals["widgets"] += res["widgets"]
    bad = {k: v[1] for k, v in report.items() if v[1]}
    assert not bad, "pages with problems:\n" + "\n".join(f"{k}: {v}" for k, v in bad.items())
    assert len(report) >= 3, f"too few pages: {sorted(report)}"
    # the site has at least one interactive figure and one widget, so those paths are really exercised
    assert totals["figs"] > 0 and totals["widgets"] > 0, totals
    assert not (SITE / "genindex.html").exists(), "the build wrote an empty general index"


def test_wide_figure_check_catches_a_clipped_figure(tmp_path):
    "The width check itself: a 1000 px drawing in a 700 px column is reported, a fitting one is not."
    page = tmp_path / "wide.html"
    fig = '<div class="rk-plotly" id="{id}" style="width:100%;overflow-x:auto"><svg class="main-svg" width="{w}" height="50"></svg></div>'
    page.write_text('<html><body style="margin:0"><article style="width:700px">' + fig.format(id="wide", w=1000)
                    + fig.format(id="fits", w=690) + "</article></body></html>")
    with _browser() as browser:
        p = browser.new_page(viewport={"width": 1280, "height": 900})
        p.goto(page.as_uri(), wait_until="load")
        wide = p.evaluate(WIDE_FIGURES)
    assert len(wide) == 1 and wide[0].startswith("wide: 1000 px in a 700 px column"), wide


def test_wide_table_check_catches_a_wide_table(tmp_path):
    """The table check itself: a table past its column, and a parameter table that scrolls, are reported; a wide data
    table scrolling inside its own column-wide box and a wrapping parameter table are not."""
    page = tmp_path / "tables.html"
    row = lambda w: f'<table id="{{id}}"><tr><td style="white-space:nowrap">{"x" * w}</td></tr></table>'
    page.write_text('<html><body style="margin:0"><article style="width:700px"><section id="s">'
                    + row(200).format(id="wide")
                    + '<div style="overflow-x:auto">' + row(200).format(id="scrolls") + "</div>"
                    + '<div class="rk-params" style="overflow-x:auto">' + row(200).format(id="params") + "</div>"
                    + '<div class="rk-params" style="overflow-x:auto"><table id="fits"><tr><td>' + "x " * 300 + "</td></tr></table></div>"
                    + "</section></article></body></html>")
    with _browser() as browser:
        p = browser.new_page(viewport={"width": 1280, "height": 900})
        p.goto(page.as_uri(), wait_until="load")
        wide = p.evaluate(WIDE_TABLES)
    assert len(wide) == 2 and wide[0].startswith("s wide:") and wide[1].startswith("s params: parameter table scrolls"), wide


def test_hidden_trace_check_catches_a_hidden_trace(tmp_path):
    "The hidden-trace check itself: two identical lines drawn alike are reported; the same pair styled apart is not."
    from plotly.offline import get_plotlyjs
    page = tmp_path / "hidden.html"
    xs, ys = [0, 1, 2], [0.5, 0.25, 0.125]
    hidden = [dict(x=xs, y=ys, name="a"), dict(x=xs, y=ys, name="b")]
    styled = [dict(x=xs, y=ys, name="a", line=dict(width=6)), dict(x=xs, y=ys, name="b", line=dict(dash="dot", width=2))]
    page.write_text("<html><body><script>" + get_plotlyjs() + "</script><article>"
                    + '<div class="rk-plotly" id="hidden"></div><div class="rk-plotly" id="styled"></div></article><script>'
                    + f"Plotly.newPlot('hidden', {json.dumps(hidden)}); Plotly.newPlot('styled', {json.dumps(styled)});"
                    + "</script></body></html>")
    with _browser() as browser:
        p = browser.new_page(viewport={"width": 1280, "height": 900})
        p.goto(page.as_uri(), wait_until="load")
        p.wait_for_function("() => [...document.querySelectorAll('div.rk-plotly')].every(d => d._fullData)", timeout=30_000)
        found = p.evaluate(HIDDEN_TRACES)
    assert found == ["hidden: trace 'b' hides trace 'a'"], found


def test_crawl_catches_planted_page_defects(tmp_path):
    "The DOM checks the crawl applies to every page: a planted page with a repr heading, a glob in italics, double escaping, a stored warning and a path is caught on each."
    page = tmp_path / "planted.html"
    page.write_text("<html><body><article><h2>MergeMethod('slerp': t)</h2><p>sites block.<em>x</em></p><p>&amp;lt;kind&amp;gt;</p>"
                    '<div class="cell_output"><pre>UserWarning: careful /tmp/build/x.py</pre></div></article></body></html>')
    with _browser() as browser:
        p = browser.new_page()
        p.goto(page.as_uri(), wait_until="load")
        found = page_problems(p.content())
    for what in ("heading is an object's repr", "<em> inside a code-like name", "escaped twice", "stored warning", "absolute path"):
        assert any(f.startswith(what) for f in found), (what, found)


def test_crawl_catches_figure_text_escaped_twice(tmp_path):
    "A token axis that shows `&lt;s&gt;` (labels escaped twice) is caught; one that shows `<s>` is not."
    from plotly.offline import get_plotlyjs
    page = tmp_path / "escaped.html"
    bad, good = [dict(x=["&amp;lt;s&amp;gt;", "a"], y=[1, 2])], [dict(x=["&lt;s&gt;", "b"], y=[1, 2])]
    page.write_text("<html><body><script>" + get_plotlyjs() + "</script><article>"
                    + '<div class="rk-plotly" id="bad"></div><div class="rk-plotly" id="good"></div></article><script>'
                    + f"Plotly.newPlot('bad', {json.dumps(bad)}); Plotly.newPlot('good', {json.dumps(good)});</script></body></html>")
    with _browser() as browser:
        p = browser.new_page()
        p.goto(page.as_uri(), wait_until="load")
        p.wait_for_function("() => [...document.querySelectorAll('div.rk-plotly')].every(d => d._fullData)", timeout=30_000)
        found, rest = p.evaluate(FIGURE_ESCAPES), page_problems(p.evaluate(WITHOUT_FIGURES))
    assert found == ["&lt;s&gt;"] and not rest, (found, rest)


def test_search_finds_a_page(site):
    with _browser() as browser:
        page = browser.new_page()
        page.goto(f"{site}/search.html?q=anatomy", wait_until="load")
        page.wait_for_selector("#search-results ul.search li", timeout=30_000)
        hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    assert any(h.startswith("models.html") for h in hits), hits


def test_widgets_are_live_without_a_kernel(site):
    "The jslink'd slider on the docs-build page moves its linked number in the browser: widgets run, not pictures."
    with _browser() as browser:
        page = browser.new_page()
        page.goto(f"{site}/docs.html", wait_until="load")
        page.wait_for_selector(".widget-hbox input[type=number]", timeout=30_000)
        box = [h for h in page.query_selector_all(".widget-hbox") if h.query_selector("input[type=number]")][0]
        before = float(box.query_selector("input[type=number]").input_value())
        box.query_selector(".noUi-handle").focus()
        for _ in range(5): page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        after = float(box.query_selector("input[type=number]").input_value())
    assert after == pytest.approx(before + 0.5), (before, after)
