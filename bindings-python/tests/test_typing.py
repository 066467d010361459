"""The package ships type hints (py.typed): mypy --strict accepts it and an app using it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PYPROJECT = HERE.parent / "pyproject.toml"


@pytest.mark.parametrize(
    "target",
    [["-p", "tokenkeep"], [str(HERE / "typing" / "uses_the_public_api.py")]],
    ids=["the-package", "an-app-using-it"],
)
def test_mypy_strict_accepts(target, tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT), "--cache-dir", str(tmp_path), *target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
