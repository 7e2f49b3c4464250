"""The package's shape: every module imports on its own (`make test` checks the layer contract
with lint-imports before the suite runs)."""

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
