"""Write README.md from nbs/index.ipynb without Quarto: markdown cells as they are, code cells as Python blocks.

nbdev's own `nbdev_readme` renders through Quarto, which cannot be installed on every machine; this keeps the
README generated from the tour notebook everywhere (`make readme`), and `nbdev_readme` still works where Quarto is.
"""
import json, re, sys
from pathlib import Path

def link_notebooks(md: str, nbs: Path) -> str:
    "Turn each `` `NN_name` `` that names a notebook in `nbs` into a link to it (for the README at the repository's top)."
    def repl(m):
        name = m.group(1)
        return f"[`{name}`](nbs/{name}.ipynb)" if (nbs / f"{name}.ipynb").exists() else m.group(0)
    return re.sub(r"(?<!\[)`(\d\d_[A-Za-z0-9_.]+)`", repl, md)

def nb_to_markdown(nb_path: Path) -> str:
    "The notebook as GitHub markdown: nbdev's `# title` + `> summary` header kept, hidden cells dropped, notebook names linked."
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    out = []
    for c in cells:
        src = "".join(c["source"]).strip()
        if not src: continue
        if c["cell_type"] == "markdown": out.append(link_notebooks(src, nb_path.parent))
        elif not re.search(r"^#\|\s*(hide|export|exporti|default_exp)\b", src, re.M):
            out.append("```python\n" + src + "\n```")
    return "\n\n".join(out) + "\n"

if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    dest = root / "README.md"
    text = "<!-- generated from nbs/index.ipynb by docs/readme.py (make readme): edit the notebook, not this file -->\n\n" + nb_to_markdown(root / "nbs" / "index.ipynb")
    if "--check" in sys.argv:
        sys.exit(0 if dest.exists() and dest.read_text(encoding="utf-8") == text else "README.md is out of date with nbs/index.ipynb: run `make readme`")
    tmp = dest.with_suffix(".md.tmp"); tmp.write_text(text, encoding="utf-8"); tmp.replace(dest)
