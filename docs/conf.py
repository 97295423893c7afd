"""Sphinx configuration of the docs site (`make docs`, see docs/build.py); project facts come from settings.ini."""
import configparser
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
_cfg = configparser.ConfigParser(delimiters=["="])
_cfg.read(_root / "settings.ini", encoding="utf-8")
_s = _cfg["DEFAULT"]

project = _s.get("title", _s["lib_name"])
author = _s.get("author", "")
copyright = _s.get("copyright", "")
release = version = _s.get("version", "")

extensions = ["myst_nb", "sphinx.ext.mathjax"]
# MyST-NB writes notebook output files to `<outdir>/../jupyter_execute`, i.e. the repository root: keep them in _build
import myst_nb.sphinx_ext as _mystnb_sphinx  # noqa: E402
_mystnb_sphinx.OUTPUT_FOLDER = "_build/docs/jupyter_execute"
exclude_patterns = ["**.ipynb_checkpoints"]
root_doc = "index"
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# notebooks are shown with their stored outputs: never executed here
nb_execution_mode = "off"
nb_render_markdown_format = "myst"      # show_doc's markdown (tables) in outputs
nb_merge_streams = True
nb_ipywidgets_js = {"vendor/widgets/embed.js": {}}  # the standalone renderer, carried by the site (no CDN)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_block", "attrs_inline",
                          "html_image", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# MathJax 3 (SVG output, every TeX extension in one file), carried by the site
mathjax_path = "vendor/mathjax/tex-svg-full.js"

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static", str(_root / "_build" / "docs" / "static")]  # static/vendor: see build.py
html_css_files = ["research_kit.css"]
html_copy_source = False
html_use_index = False    # the general index lists Sphinx domain objects, which MyST-NB pages have none of: it was empty
html_show_sourcelink = False
html_last_updated_fmt = None
html_context = {"default_mode": "auto"}  # light/dark follows the reader; unset, the theme logs a console error
html_theme_options = {
    "repository_url": _s.get("git_url", ""),
    "repository_branch": _s.get("branch", "main"),
    "path_to_docs": _s.get("nbs_path", "nbs"),
    "use_repository_button": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "navbar_start": [], "navbar_center": [], "navbar_end": [], "navbar_persistent": [],  # the sidebar has them
}


def _page_assets(app, pagename, templatename, context, doctree):
    "plotly.js (4 MB) and the figure loader only on pages that have a figure."
    if "rk-plotly" in (context.get("body") or ""):
        app.builder.add_js_file("vendor/plotly/plotly.min.js")
        app.builder.add_js_file("rk_plotly.js")


def setup(app):
    app.connect("html-page-context", _page_assets)
    # the static path of vendored JS must exist even before the first vendor step (e.g. a bare sphinx-build)
    (_root / "_build" / "docs" / "static").mkdir(parents=True, exist_ok=True)
