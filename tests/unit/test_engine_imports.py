"""The engine states what it needs as ports: importing it loads no storage code and no AWS library."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import chalicelib.engine

ROOT = Path(__file__).resolve().parents[2]


def test_importing_every_engine_module_loads_no_store_pynamodb_or_boto3():
    modules = sorted(f"chalicelib.engine.{m.name}" for m in pkgutil.iter_modules(chalicelib.engine.__path__))
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pynamodb', 'boto3', 'botocore')\n"
        "             or m.startswith('chalicelib.store') or m == 'chalicelib.backends'))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
