"""The package's shape: every module imports on its own, and the layer contract holds."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from .helpers import ROOT

MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "mvconf").rglob("*.py")
)


def _import_alone(module: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    return module, done.stderr.strip().splitlines()[-1] if done.returncode else ""


def test_every_module_imports_in_a_fresh_interpreter():
    assert "mvconf.commands.plan" in MODULES and len(MODULES) > 40
    with ThreadPoolExecutor(4) as pool:
        failures = {m: err for m, err in pool.map(_import_alone, MODULES) if err}
    assert failures == {}


def test_import_layers_contract_is_kept():
    lint = ROOT / ".venv" / "bin" / "lint-imports"
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout
