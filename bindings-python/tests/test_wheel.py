"""The built wheel installs into a fresh virtualenv and imports, with nothing else installed.

run-tests.sh builds the wheel and passes its path in ``TOKENKEEP_WHEEL``;
run by hand, the newest wheel under ``target/wheels`` is used. The check
runs with this interpreter and with the oldest and newest supported ones
when they are installed (``python3.9``, ``python3.13`` on PATH or under pyenv).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import REPO

SMOKE = r"""
import sys
import tokenkeep
assert tokenkeep.__version__ == "0.1.0", tokenkeep.__version__
assert "site-packages" in tokenkeep.__file__, tokenkeep.__file__
keeper = tokenkeep.TokenKeeper(token_endpoint="http://127.0.0.1:9/token", client_id="app")
keeper.set_tokens("at_smoke", "rt_smoke", expires_in=3600)
assert keeper.access_token() == "at_smoke"
for extra in ("requests_auth", "httpx_auth"):
    try:
        __import__("tokenkeep." + extra)
    except ImportError as error:
        assert "pip install" in str(error), error
    else:
        raise AssertionError(extra + " imported without its library")
print("ok", sys.version_info[:2])
"""


def wheel_path() -> Path:
    given = os.environ.get("TOKENKEEP_WHEEL")
    if given:
        return Path(given)
    wheels = sorted((REPO / "target" / "wheels").glob("tokenkeep-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        pytest.skip("no wheel built (run-tests.sh builds one and sets TOKENKEEP_WHEEL)")
    return wheels[-1]


def _candidates(name):
    yield shutil.which(name)
    # pyenv installs versions side by side without putting them all on PATH.
    yield from (str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{name[6:]}.*/bin/{name}")))


def interpreters():
    found = {sys.version_info[:2]: sys.executable}
    for name in ("python3.9", "python3.13"):
        for path in _candidates(name):
            if not path:
                continue
            version = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if version.returncode == 0:
                major, minor = version.stdout.strip().split(".")
                found.setdefault((int(major), int(minor)), path)
                break
    return [pytest.param(path, id=f"py{v[0]}.{v[1]}") for v, path in sorted(found.items())]


def test_the_wheel_holds_the_generated_module_and_the_package():
    wheel = wheel_path()
    assert "-py3-none-" in wheel.name  # ctypes-based: one wheel for every Python 3
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "tokenkeep/__init__.py",
        "tokenkeep/py.typed",
        "tokenkeep/_keeper.py",
        "tokenkeep/requests_auth.py",
        "tokenkeep/httpx_auth.py",
        "tokenkeep/ffi/__init__.py",
        "tokenkeep/ffi/tokenkeep.py",
        "tokenkeep/ffi/libtokenkeep.so",
    ):
        assert expected in names, expected
    assert not any(name.startswith("tests/") for name in names)


@pytest.mark.parametrize("python", interpreters())
def test_the_wheel_installs_into_a_fresh_venv_and_imports(python, tmp_path):
    wheel = wheel_path()
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    venv_python = venv / "bin" / "python"
    subprocess.run(
        [str(venv_python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    listed = subprocess.run(
        [str(venv_python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "tokenkeep==0.1.0" in listed
    assert "requests" not in listed and "httpx" not in listed
    smoke = subprocess.run(
        [str(venv_python), "-I", "-c", SMOKE], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert smoke.returncode == 0, smoke.stderr
    assert smoke.stdout.startswith("ok")
