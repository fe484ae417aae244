"""Imports flow one way: training/ -> arvae_live.core; nothing in arvae_live/ imports training/ or music21."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import arvae_live

ROOT = Path(__file__).resolve().parents[1]


def test_live_side_never_imports_training_or_music21():
    modules = [
        m.name for m in pkgutil.walk_packages(arvae_live.__path__, "arvae_live.") if not m.name.endswith("__main__")
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('training', 'music21'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"arvae_live imported {out.stdout.strip()}"


def test_core_imports_only_torch_and_numpy():
    code = (
        "import sys\n"
        "import arvae_live.core.checkpoint, arvae_live.core.attributes, arvae_live.core.representation\n"
        "bad = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('mido', 'pythonosc', 'music21', 'click', 'training'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
