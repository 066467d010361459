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


BENCHMARKS = SCRIPT.parent


def test_the_refresh_throughput_benchmark_prints_both_and_the_ratio():
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_refresh.py"), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for figure in ("1 caller(s): raw http.client", "8 caller(s): raw http.client", "ratio"):
        assert figure in run.stdout, figure


def test_the_async_waiters_benchmark_prints_tokenkeep_authlib_and_the_ratio():
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_async_waiters.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for figure in ("tokenkeep access_token_async()", "Authlib AsyncOAuth2Client", "ratio tokenkeep / Authlib"):
        assert figure in run.stdout, figure
