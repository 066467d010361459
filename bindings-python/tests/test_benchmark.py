"""The benchmark script runs (a quick smoke run, so it cannot rot unnoticed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_access_token.py"


def test_the_benchmark_prints_its_figures():
    run = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for figure in ("(cached, the default)", "(raw FFI)", "RequestsAuth", "OAuth2Session / tokenkeep"):
        assert figure in run.stdout, figure
