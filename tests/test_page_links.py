"""docs/nbproc.page_links: links between numbered notebooks point at the site's page names (numbers dropped)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from nbproc import page_links  # noqa: E402


def test_numbered_notebook_links_lose_their_number():
    md = "[84](84_tutorial.pruning_blocks.ipynb), [s](./43_pruning.structured.ipynb#adapt), [w](https://x.org/12_a.ipynb), [n](index.ipynb)"
    assert page_links(md) == ("[84](tutorial.pruning_blocks.ipynb), [s](pruning.structured.ipynb#adapt), "
                              "[w](https://x.org/12_a.ipynb), [n](index.ipynb)")
