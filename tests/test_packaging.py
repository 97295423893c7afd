"Packaging metadata (setup.py reads settings.ini): the licence is an SPDX expression, so installing warns about nothing."
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_licence_metadata_is_an_spdx_expression(tmp_path):
    r = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    assert "License classifiers are deprecated" not in r.stderr + r.stdout, r.stderr
    assert "SetuptoolsDeprecationWarning" not in r.stderr, r.stderr
    info = (tmp_path / "research_kit.egg-info" / "PKG-INFO").read_text(encoding="utf-8")
    assert "License-Expression: Apache-2.0" in info and "Classifier: License ::" not in info, info[:800]
