"""The careless-input table, one module per verb; `Ctx` holds the inputs they use (tiny models, saved folders)."""
import hashlib, importlib, pkgutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import torch


@dataclass
class Case:
    "One careless input: `call(ctx)` must raise `exc` with a message naming `arg` (and containing each of `says`)."
    id: str  # "<verb>:<what>", e.g. "merging:ties density -0.1"
    call: Callable  # call(ctx) -> anything; expected to raise
    exc: type = ValueError
    arg: str = ""  # the argument the message must name
    says: tuple = ()  # more substrings the message must contain
    prepare: Callable = lambda ctx: None  # set-up run before the hashes are taken (e.g. a user's folder)


class Ctx:
    """Inputs shared by the cases, built once: tiny models in memory, and on disk (under `root`, hashed by the test)."""
    def __init__(self, root: Path):
        self.root = Path(root)
        self._mem: dict[str, Any] = {}

    def build_defaults(self):
        "The inputs most cases use, made before any hash is taken: tiny llama/bert/gpt2 models and three llama folders."
        for fam in ("llama", "bert", "gpt2"): self.tiny(fam)
        for i, name in enumerate(("base", "a", "b")): self.folder(name, "llama", seed=i)

    def keep(self, name: str, obj):
        "Register an in-memory input whose hash must not change; return it."
        self._mem[name] = obj
        return obj

    def memory_hashes(self) -> dict[str, str]:
        out = {}
        for k, v in self._mem.items():
            h = hashlib.sha256()
            sd = v.state_dict() if isinstance(v, torch.nn.Module) else v if isinstance(v, dict) else {"t": v}
            for n, t in sd.items():
                if isinstance(t, torch.Tensor): h.update(n.encode()); h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            out[k] = h.hexdigest()
        return out

    def tiny(self, family: str = "llama", seed: int = 0):
        "A tiny random model and tokenizer of `family` (cached; registered as an in-memory input)."
        key = f"tiny-{family}-{seed}"
        if key not in self._mem:
            from research_kit.models import tiny
            torch.manual_seed(seed)
            m, t = tiny(family)
            self.keep(key, m.eval())
            setattr(self, "_tok_" + key.replace("-", "_"), t)
        return self._mem[key], getattr(self, "_tok_" + key.replace("-", "_"))

    def folder(self, name: str, family: str = "llama", seed: int = 0) -> Path:
        "A tiny model saved as a Hugging Face folder under root/models/<name> (base, a and b exist; make others in `prepare`)."
        p = self.root / "models" / name
        if not p.exists():
            from transformers import AutoModelForCausalLM, AutoModel
            m, t = self.tiny(family, seed)
            m.save_pretrained(p); t.save_pretrained(p)
        return p

    def user_folder(self, name: str = "user_stuff") -> Path:
        "A folder of the user's (no research_kit marker) holding a file."
        p = self.root / name
        p.mkdir(parents=True, exist_ok=True)
        (p / "notes.txt").write_text("the user's own notes")
        return p


CASES: list[Case] = []
for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    CASES += importlib.import_module(f"{__name__}.{_m.name}").CASES
