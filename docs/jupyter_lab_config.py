"""JupyterLab settings for `make lab` (`jupyter lab --config=docs/jupyter_lab_config.py`).

Why a notebook opened as soon as Lab starts used to be marked modified: when its kernel starts, JupyterLab writes
the kernel's `kernelspec` (with the display name, "Python 3 (ipykernel)") and `language_info` (with the exact
Python version) into the notebook metadata, and any change to the metadata marks the notebook dirty.
`nbdev_clean` keeps the notebooks in git machine-independent: it rewrites `kernelspec.display_name` to the kernel's
name ("python3") and drops `language_info`. So every cleaned notebook differed from what Lab writes, at once.

The fix, without putting machine-specific metadata into git: the server hands a notebook to Lab with the metadata
the kernel will report already filled in (the installed kernelspec's display name and language, and ipykernel's
own `language_info` for this Python). Lab's update then changes nothing, so the notebook opens clean. The file on
disk is untouched until the user saves, and `nbdev_clean` (or nbdev's Jupyter hook) strips both again.
"""
import sys

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager


def kernel_metadata(metadata: dict, specs: dict) -> dict:
    "The notebook `metadata` with `kernelspec` and `language_info` as JupyterLab writes them once the kernel runs."
    ks = metadata.get("kernelspec") or {}
    spec = specs.get(ks.get("name"))
    if spec is None: return metadata
    out = {**metadata, "kernelspec": {"name": ks["name"], "display_name": spec["display_name"], "language": spec["language"]}}
    argv0 = (spec.get("argv") or [""])[0]
    # ipykernel on this interpreter (jupyter_client runs argv "python" with the server's own sys.executable)
    if spec["language"] == "python" and argv0 in ("python", "python3", sys.executable):
        try: from ipykernel.ipkernel import IPythonKernel
        except ImportError: return out
        out["language_info"] = dict(IPythonKernel.language_info)
    return out


class KernelMetadataContentsManager(AsyncLargeFileManager):
    "Jupyter's file contents manager, handing notebooks out with the kernel metadata Lab would write (see above)."
    async def get(self, path, content=True, type=None, format=None, **kw):
        model = await super().get(path, content=content, type=type, format=format, **kw)
        if content and model.get("type") == "notebook" and model.get("content") is not None:
            try:
                specs = {n: s["spec"] for n, s in self.parent.kernel_spec_manager.get_all_specs().items()}
                model["content"]["metadata"] = kernel_metadata(dict(model["content"].get("metadata") or {}), specs)
            except Exception as e:  # never stand between the user and their notebook
                self.log.warning("research_kit: kernel metadata not filled in for %s: %r", path, e)
        return model


c = get_config()  # noqa: F821 (defined by traitlets when it runs this file)
c.ServerApp.contents_manager_class = KernelMetadataContentsManager
