"""The viz widgets in a real browser (slow: `pytest --runslow tests/test_viz_site.py`, part of `make test-all`).

1. The docs pages of the viz notebooks and the widgets tutorial (site built by `docs/build.py`, served on loopback) in
   headless Debian Chromium: no console error, no request leaves loopback, every plotly figure has data and fits the
   column, and a plotly layer slider changes the drawn layer without a kernel. A screenshot per page goes to
   `_artifacts/viz_screens/`. Set RK_DOCS_PREBUILT=1 to test the `_docs/` already built.
2. The three widgets in JupyterLab: a small notebook (tiny random model, random embeddings) is run in Lab; each widget's
   plotly FigureWidget draws, and changing a control in the browser redraws the figure through the kernel.
"""
from pathlib import Path

import nbformat
import pytest

from test_docs_site import WIDE_FIGURES, _browser, jupyterlab, loopback_only, site  # noqa: F401 (site is a fixture)

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_docs"
SHOTS = ROOT / "_artifacts" / "viz_screens"
pytestmark = pytest.mark.slow
# page -> the least number of plotly figures it must show (the widgets tutorial shows each widget's static figures)
PAGES = {"viz.attention.html": 5, "viz.geometry.html": 4, "viz.gradients.html": 4, "tutorial.widgets.html": 11}
# page -> how many widgets it displays: each shows its current figure as a static copy, subtitled "Static copy: ..."
WIDGETS = {"viz.attention.html": 1, "viz.geometry.html": 1, "viz.gradients.html": 1, "tutorial.widgets.html": 3}


def _page_path(name: str) -> str:
    "The notebook's page (at the top of the site; `api/` holds the API reference pages of the same names)."
    assert (SITE / name).exists(), f"no page {name} in _docs (is the notebook there and its outputs stored?)"
    return name


def _open(ctx, url: str):
    errors, failed = [], []
    page = ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url[:120]} ({r.failure})"))
    page.goto(url, wait_until="load")
    try: page.wait_for_function("() => [...document.querySelectorAll('div.rk-plotly')].every(d => d.querySelector('.main-svg'))", timeout=30_000)
    except Exception: pass  # the checks below say what is missing
    page.wait_for_timeout(300)
    return page, errors, failed


def test_viz_pages_in_chromium(site):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    bad = {}
    with _browser() as browser:
        ctx, outside = loopback_only(browser)
        for name, least in PAGES.items():
            path = _page_path(name)
            page, errors, failed = _open(ctx, f"{site}/{path}")
            res = page.evaluate("""() => { const figs = [...document.querySelectorAll('div.rk-plotly')];
                return {figs: figs.length, ok: figs.filter(d => d.data && d.data.length && d.querySelector('.main-svg')).length,
                        points: figs.reduce((n, d) => n + (d.data || []).length, 0),
                        static: figs.filter(d => /^Static copy/.test(((d.layout || {}).title || {}).subtitle?.text || '')
                                                  && d.querySelector('.main-svg')).length}; }""")
            wide = page.evaluate(WIDE_FIGURES)
            page.screenshot(path=str(SHOTS / (name[:-5] + ".png")), full_page=True)
            page.close()
            problems = errors + failed + [f"request to outside: {u}" for u in outside] + [f"too wide: {w}" for w in wide]
            if res["figs"] < least: problems.append(f"{res['figs']} plotly figures, expected at least {least}")
            if res["ok"] < res["figs"]: problems.append(f"{res['figs'] - res['ok']} of {res['figs']} figures without data")
            if res["static"] != WIDGETS[name]: problems.append(f"{res['static']} widgets drawn as a static copy, expected {WIDGETS[name]}")
            print(name, res, "OK" if not problems else problems)
            if problems: bad[name] = problems
    assert not bad, bad


def test_layer_slider_works_without_a_kernel(site):  # noqa: F811
    "On the attention page, clicking the last step of a plotly layer slider shows the last layer's trace, in the browser alone."
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{site}/{_page_path('viz.attention.html')}", wait_until="load")
        page.wait_for_selector("div.rk-plotly .slider-container", timeout=30_000)
        div = page.locator("div.rk-plotly:has(.slider-container)").first
        visible = "d => d.data.map(t => t.visible === undefined || t.visible === true)"
        before = div.evaluate(visible)
        # click the right end of the rail: plotly moves the slider to the last step and restyles visibility
        div.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        grip, rail = div.locator("rect.slider-grip-rect").first.bounding_box(), div.locator("rect.slider-rail-rect").first.bounding_box()
        page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)  # drag the grip to the rail's end
        page.mouse.down()
        page.mouse.move(rail["x"] + rail["width"] - 1, grip["y"] + grip["height"] / 2, steps=10)
        page.mouse.up()
        page.wait_for_timeout(500)
        after = div.evaluate(visible)
    assert sum(before) == 1 and sum(after) == 1 and before != after and after[-1], (before, after)


_LAB_NB = [
    "import torch\nfrom research_kit.models import tiny\nfrom research_kit.viz import *\n"
    "m, tok = tiny('llama', num_hidden_layers=2)\nd = attention_data(m, 'the cat sat', tok)\n"
    "aw = AttentionWidget(d['attentions'], d['tokens'])\naw",
    "x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))\n"
    "EmbeddingWidget({'a': x, 'b': 2 * x}, texts=[f'p{i}' for i in range(300)], labels=[i % 3 for i in range(300)])",
    "GradientWidget()",
]


def test_widgets_in_jupyterlab(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in _LAB_NB],
                                  metadata={"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}})
    nbs = tmp_path / "nbs"; nbs.mkdir(); nbformat.write(nb, nbs / "widgets.ipynb")
    with jupyterlab(tmp_path, nbs) as port:
        with _browser() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors = []
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto(f"http://127.0.0.1:{port}/lab/tree/widgets.ipynb?reset", wait_until="load")
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            try:  # Lab may ask which kernel to start: take the one it proposes (this interpreter's python3)
                page.wait_for_selector(".jp-Dialog button.jp-mod-accept", timeout=15_000)
                page.click(".jp-Dialog button.jp-mod-accept")
            except Exception: pass
            page.wait_for_function("""() => { const e = document.querySelector('.jp-Notebook-ExecutionIndicator');
                return e && /idle/i.test(e.getAttribute('data-status') || ''); }""", timeout=120_000)
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            try: page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output .js-plotly-plot .main-svg').length >= 3", timeout=180_000)
            except Exception:
                page.screenshot(path=str(SHOTS / "jupyterlab_widgets_failed.png"), full_page=True)
                raise AssertionError("the widgets did not draw in JupyterLab: " + page.inner_text(".jp-Notebook")[:3000] + "\n" + "\n".join(errors))
            page.wait_for_timeout(1000)
            text = page.inner_text(".jp-Notebook")
            title = lambda: page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output .js-plotly-plot')][0].querySelector('.gtitle')?.textContent || ''")
            t0 = title()
            page.locator(".jp-OutputArea-output select").first.select_option("rollout")  # the attention widget's view
            page.wait_for_function("() => /rollout/i.test([...document.querySelectorAll('.jp-OutputArea-output .js-plotly-plot')][0].querySelector('.gtitle')?.textContent || '')",
                                   timeout=60_000)
            t1 = title()
            page.screenshot(path=str(SHOTS / "jupyterlab_widgets.png"), full_page=True)
    assert "Error displaying widget" not in text and "Traceback" not in text, text[:2000]
    assert not errors, errors
    assert "Attention" in t0 and "rollout" in t1.lower(), (t0, t1)
