"""Execute notebooks in place so their outputs are stored (the docs site shows stored outputs; it never re-runs
a notebook), honouring nbdev's cell flags, then `nbdev_clean` them.

    python docs/run_nbs.py nbs/index.ipynb nbs/00_core.ipynb     # or: make outputs NBS="nbs/index.ipynb ..."
    python docs/run_nbs.py --flags slow nbs/91_bench.ipynb        # include `#| slow` cells

* a cell flagged with one of `tst_flags` from settings.ini (`#| slow`, `#| notest`, `#| cuda`) runs only when that
  flag is passed with `--flags`; otherwise it is skipped and KEEPS its stored outputs (so the outputs of a slow
  run survive a later quick refresh);
* `--from-cell ID` reruns one section of a long notebook: flagged cells before the cell with that id are skipped
  (keeping their outputs), unflagged ones (imports, harness) still run; `--to-cell ID` likewise skips the flagged
  cells after that one, so a section in the middle can be rerun alone;
* `#| eval: false` cells never run; notebooks whose front matter says `skip_exec: true` are left alone;
* widget state is saved in the notebook metadata (`metadata.widgets`, kept by nbdev_clean through
  `allowed_metadata_keys = widgets`), so ipywidgets outputs render on the docs site without a kernel;
* plotly figures are stored as plotly's JSON mimetype (its default renderer in a kernel, as with
  `jupyter nbconvert --execute`): JupyterLab draws it, and the docs build draws it with the site's own plotly.js.
An error stops that notebook, leaves the file untouched and makes the script exit non-zero.
"""
import argparse, asyncio, configparser, json, os, re, subprocess, sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbproc import WIDGET_STATE, renderable_widgets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_re_dir = re.compile(r"^\s*#\|\s*(.*?)\s*$")


def directives(source: str) -> dict:
    "nbdev `#| name args` lines at the top of a cell, as {name: args}."
    out = {}
    for line in source.splitlines():
        if not line.strip(): continue
        m = _re_dir.match(line)
        if not m: break
        name, _, args = m.group(1).partition(" ")
        if name.endswith(":"): name, args = name[:-1], args.strip()
        elif ":" in name: name, args = name.split(":", 1)[0], name.split(":", 1)[1] + args
        out[name.strip()] = args.strip()
    return out


def tst_flags() -> set:
    cfg = configparser.ConfigParser(delimiters=["="]); cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return set(cfg["DEFAULT"].get("tst_flags", "").split())


def should_run(cell, flags: set, all_flags: set) -> bool:
    "Whether `cell` runs: code, not `eval: false`, and every test flag on it was asked for."
    if cell.cell_type != "code": return False
    d = directives(cell.source)
    if d.get("eval", "").lower() == "false": return False
    return not ((set(d) & all_flags) - flags)


def skip_exec(nb) -> bool:
    "nbdev's notebook-level `skip_exec: true` (front matter in a raw cell or a `# title` markdown cell)."
    for c in nb.cells[:3]:
        if re.search(r"^\s*-?\s*skip_exec\s*:\s*true\s*$", c.source, re.M | re.I): return True
    return False


# progress bars off in the kernel that stores outputs for the docs (tqdm, huggingface_hub, transformers, datasets):
# a bar is noise on a static page (the docs processing also drops stderr and progress widgets, nbproc.is_noise)
QUIET_ENV = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
             "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def strip_noise(nb) -> int:
    "Drop stored noise (stderr, progress-bar widgets and their saved state) from a notebook in place; how many outputs went."
    from nbproc import is_noise, progress_views
    bars, n = progress_views(dict(nb.metadata)), 0
    for c in nb.cells:
        if c.cell_type != "code": continue
        keep = [o for o in c.outputs if not is_noise(o, bars)]
        n += len(c.outputs) - len(keep); c.outputs = keep
    st = ((nb.metadata.get("widgets") or {}).get(WIDGET_STATE) or {}).get("state")
    if st and bars:
        def reach(roots):  # the models these reach (a box's children, their layouts and styles)
            seen, todo = set(), list(roots)
            while todo:
                k = todo.pop()
                if k in seen or k not in st: continue
                seen.add(k); todo += re.findall(r"IPY_MODEL_(\w+)", json.dumps(st[k]))
            return seen
        barred = reach(bars)
        for k in barred - reach(set(st) - barred): del st[k]
        if not st: del nb.metadata["widgets"]
    return n


class FlagClient(NotebookClient):
    "An nbclient that skips the cells nbdev would skip, leaving their stored outputs alone."
    def __init__(self, nb, flags, all_flags, from_cell=None, to_cell=None, **kw):
        super().__init__(nb, **kw)
        self.flags, self.all_flags, self.ran, self.skipped = flags, all_flags, 0, 0
        ids = [c.get("id") for c in nb.cells]
        if from_cell is not None and from_cell not in ids: raise ValueError(f"--from-cell: no cell with id {from_cell!r} in the notebook")
        if to_cell is not None and to_cell not in ids: raise ValueError(f"--to-cell: no cell with id {to_cell!r} in the notebook")
        self.start = ids.index(from_cell) if from_cell is not None else 0
        self.stop = ids.index(to_cell) if to_cell is not None else len(ids)
        if self.stop < self.start: raise ValueError(f"--to-cell {to_cell!r} comes before --from-cell {from_cell!r}")

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        early_flagged = not self.start <= cell_index <= self.stop and set(directives(cell.source)) & self.all_flags
        if cell.cell_type == "code" and (early_flagged or not should_run(cell, self.flags, self.all_flags)):
            self.skipped += 1
            return cell
        self.ran += cell.cell_type == "code"
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)


def run(path: Path, flags: set, timeout: int, from_cell: str | None = None, to_cell: str | None = None) -> str:
    nb = nbformat.read(path, as_version=4)
    if skip_exec(nb): return f"{path}: skip_exec, left alone"
    t0 = time.time()
    client = FlagClient(nb, flags, tst_flags(), from_cell, to_cell, timeout=timeout, kernel_name="python3",
                        resources={"metadata": {"path": str(path.parent)}}, store_widget_state=True)
    client.execute()
    # keep only widget state the site can draw: a third-party widget's state (plotly's FigureWidget carries its whole
    # plotly.js bundle, ~5 MB) would bloat the notebook, and the docs leave such widgets out anyway (nbproc)
    nb.metadata = nbformat.from_dict(renderable_widgets(dict(nb.metadata))[1])
    strip_noise(nb)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp); tmp.replace(path)
    return f"{path}: {client.ran} cells run, {client.skipped} skipped, {time.time() - t0:.1f}s"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--flags", default="", help="space- or comma-separated test flags to include, e.g. 'slow'")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    p.add_argument("--from-cell", default=None, help="skip flagged cells before the cell with this id (their outputs are kept)")
    p.add_argument("--to-cell", default=None, help="skip flagged cells after the cell with this id (their outputs are kept)")
    a = p.parse_args(argv)
    flags = set(re.split(r"[\s,]+", a.flags.strip())) - {""}
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")  # the kernel is this interpreter's
    os.environ.update(QUIET_ENV)  # the kernel inherits it: no progress bars stored in the outputs
    failed = []
    for nb in a.notebooks:
        try: print(run(nb, flags, a.timeout, a.from_cell, a.to_cell), flush=True)
        except Exception as e:
            failed.append(nb); print(f"{nb}: FAILED, left untouched\n{e}", file=sys.stderr, flush=True)
    done = [str(n) for n in a.notebooks if n not in failed]
    for n in done: subprocess.run([str(Path(bindir) / "nbdev_clean"), "--fname", n], check=True, cwd=ROOT)
    if failed: sys.exit(f"failed: {' '.join(map(str, failed))}")


if __name__ == "__main__": main()
