"Careless inputs to models and core (load, complete, encode, gguf conversion, the write rule)."
from research_kit.core import atomic_dir
from research_kit.models import complete, encode, gguf_to_folder, load

from . import Case

CASES = [
    Case("models:load unknown name", lambda c: load("gpt-17"), ValueError, "name_or_path"),
    Case("models:complete empty prompt", lambda c: complete(*c.tiny("llama"), ""), ValueError, "prompt"),
    Case("models:encode empty list", lambda c: encode(*c.tiny("bert"), []), ValueError, "texts"),
    Case("models:encode empty string", lambda c: encode(*c.tiny("bert"), [""]), ValueError, "texts"),
    Case("models:gguf not a file", lambda c: gguf_to_folder(c.root / "nope.gguf"), ValueError, "gguf"),
    Case("core:atomic_dir over a user's folder", lambda c: atomic_dir(c.root / "user_stuff", overwrite=True).__enter__(),
         ValueError, "out", ("not ours to replace",), prepare=lambda c: c.user_folder()),
    Case("core:atomic_dir inside an input", lambda c: atomic_dir(c.folder("base") / "sub", inputs=[c.folder("base")]).__enter__(),
         ValueError, "out", ("lies inside the input",)),
]
