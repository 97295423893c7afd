"""Figures leave the notebook: `viz.save_figure` to .html (one shared plotly.min.js per folder), .png, .svg and .pdf.

The HTML tests need no browser. The image tests need kaleido and a Chromium: they use Debian's /usr/bin/chromium when it
is there; in the full run (--runslow) as root they install it with apt-get first, as tests/test_docs_site.py does;
otherwise they are skipped, so a CI without a browser still passes.
"""
import os, re, shutil, subprocess, xml.etree.ElementTree as ET
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pytest

from research_kit.viz import CHROMIUM, save_figure

BUNDLE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@pytest.fixture
def fig():
    return go.Figure(go.Heatmap(z=[[0.1, 0.9], [0.5, 0.5]]), layout=dict(title="two by two"))


@pytest.fixture
def chromium(request):
    "Debian's chromium and kaleido, or a skip (installed with apt-get in the full run when we are root)."
    if not Path(CHROMIUM).exists() and request.config.getoption("--runslow") and os.geteuid() == 0 and shutil.which("apt-get"):
        if subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True).returncode:
            subprocess.run(["apt-get", "update"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True)
    if not Path(CHROMIUM).exists() and not os.environ.get("BROWSER_PATH"):
        pytest.skip(f"no {CHROMIUM}: install Debian's chromium (`apt-get install -y chromium`, needs root)")
    pytest.importorskip("kaleido", reason="kaleido (a dev requirement) is not installed")
    return CHROMIUM


def test_html_shares_one_plotlyjs(fig, tmp_path):
    pages = [save_figure(fig, tmp_path / "figs" / f"fig{i}.html") for i in range(20)]
    assert sorted(p.name for p in (tmp_path / "figs").glob("*.js")) == ["plotly.min.js"]
    assert (tmp_path / "figs" / "plotly.min.js").read_bytes() == BUNDLE.read_bytes()
    for p in pages:
        html = p.read_text()
        assert p.stat().st_size < 20_000, p.stat().st_size  # not ~5 MB: plotly.js is not inlined
        assert re.search(r'<script[^>]*src="plotly.min.js"', html) and "cdn.plot.ly" not in html
        assert '"z":[[0.1,0.9],[0.5,0.5]]' in html.replace(" ", "")  # the figure's data is in the page
    assert not [p for p in (tmp_path / "figs").iterdir() if ".tmp-" in p.name]  # no temporary file left behind


def test_html_opens_in_a_browser(fig, tmp_path, chromium):
    "The page draws its figure from the plotly.min.js beside it, with no network (headless Chromium prints the DOM)."
    page = save_figure(fig, tmp_path / "page.html", width=500, height=400)
    out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--virtual-time-budget=5000", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'class="main-svg"' in out.stdout, out.stderr[-2000:]  # plotly drew an svg: the script loaded from the folder


def test_html_refuses_what_it_did_not_write(fig, tmp_path):
    (tmp_path / "notes.html").write_text("a user's page")
    with pytest.raises(ValueError, match="path: .*does not exist yet"): save_figure(fig, tmp_path / "notes.html")
    with pytest.raises(ValueError, match="not ours to replace"): save_figure(fig, tmp_path / "notes.html", overwrite=True)
    assert (tmp_path / "notes.html").read_text() == "a user's page"
    p = save_figure(fig, tmp_path / "f.html")
    fig.update_layout(title="changed")
    assert "changed" in save_figure(fig, p, overwrite=True).read_text()  # ours and unchanged: replaced
    p.write_text(p.read_text() + "<!-- edited by hand -->")
    with pytest.raises(ValueError, match="not ours to replace"): save_figure(fig, p, overwrite=True)


def test_html_never_replaces_a_different_plotlyjs(fig, tmp_path):
    (tmp_path / "plotly.min.js").write_text("/* plotly.js 1.0 */")
    with pytest.raises(ValueError, match="different"): save_figure(fig, tmp_path / "f.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plotly.min.js"]
    shutil.copy(BUNDLE, tmp_path / "plotly.min.js")  # the same bytes (e.g. written by plotly's own write_html): reused
    save_figure(fig, tmp_path / "f.html")


def test_bad_calls(fig, tmp_path):
    with pytest.raises(ValueError, match=r"path: expected a file name ending in \.html, \.png"): save_figure(fig, tmp_path / "f.gif")
    with pytest.raises(ValueError, match="width"): save_figure(fig, tmp_path / "f.png", width=-3)
    with pytest.raises(TypeError, match="fig"): save_figure("fig", tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_kaleido_or_browser_is_said(fig, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "kaleido", None)  # as if it were not installed
    with pytest.raises(ImportError, match="pip install kaleido"): save_figure(fig, tmp_path / "f.png")
    monkeypatch.delitem(sys.modules, "kaleido")
    pytest.importorskip("kaleido")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    with pytest.raises(FileNotFoundError, match="BROWSER_PATH"): save_figure(fig, tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_png_svg_pdf(fig, tmp_path, chromium):
    png = save_figure(fig, tmp_path / "f.png", width=600, height=400, scale=2)
    b = png.read_bytes()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(b[16:20], "big"), int.from_bytes(b[20:24], "big")) == (1200, 800)  # IHDR: width × scale
    svg = save_figure(fig, tmp_path / "f.svg", width=600, height=400)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and (root.get("width"), root.get("height")) == ("600", "400")
    assert "two by two" in svg.read_text()
    pdf = save_figure(fig, tmp_path / "f.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.read_bytes().rstrip().endswith(b"%%EOF")
    with pytest.raises(ValueError, match="does not exist yet"): save_figure(fig, png)
    assert save_figure(fig, png, overwrite=True, width=300, height=200).read_bytes()[16:20] == (300).to_bytes(4, "big")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".research_kit-files.json", "f.pdf", "f.png", "f.svg"]
