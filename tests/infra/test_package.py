"""`make package` (scripts/package.py): the deployment zip holds only the function app, is small, and its
unzipped tree imports and indexes every function in a fresh venv that has only requirements.txt installed.

The venv is built once per session by uv (pinned in requirements-dev.txt) from PyPI, which CI may reach: a
cold install takes seconds where pip took minutes (azure-mgmt-network alone unpacks thousands of files), and
`--only-binary :all:` keeps it from building anything from source. uv reads requirements.txt as pip does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import package

ALLOWED_TOP = {"function_app.py", "host.json", "requirements.txt", "core", "activities", "orchestrators",
               "http_starter"}
LIST_FUNCTIONS = (
    "import json, function_app; "
    "print(json.dumps(sorted(f.get_function_name() for f in function_app.app.get_functions())))"
)


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package.build(tmp_path_factory.mktemp("package") / "alertcap.zip")


def test_zip_holds_only_the_function_app(zip_path: Path) -> None:
    names = zipfile.ZipFile(zip_path).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == ALLOWED_TOP
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert zip_path.stat().st_size < 1_000_000


def test_funcignore_patterns_match_like_gitignore() -> None:
    patterns = ["tests/", "*.py[cod]", "/Makefile", ".git"]
    assert package.ignored("tests", True, patterns)
    assert package.ignored("core/tests", True, patterns)  # a directory pattern matches at any depth
    assert not package.ignored("tests", False, patterns)  # ... but only directories
    assert package.ignored("core/x.pyc", False, patterns)
    assert package.ignored("Makefile", False, patterns)
    assert package.ignored(".git", False, patterns)  # a worktree's .git is a file
    assert not package.ignored("core/settings.py", False, patterns)


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("fresh-venv") / "venv"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), "--only-binary", ":all:",
         "-r", str(REPO_ROOT / "requirements.txt")],
        check=True, timeout=600,
    )
    yield python


def test_unzipped_package_indexes_every_function_with_only_requirements(
    zip_path: Path, fresh_venv: Path, tmp_path: Path
) -> None:
    zipfile.ZipFile(zip_path).extractall(tmp_path / "app")
    env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    listed = subprocess.run([str(fresh_venv), "-c", LIST_FUNCTIONS], cwd=tmp_path / "app", env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    expected = subprocess.run([sys.executable, "-c", LIST_FUNCTIONS], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True, timeout=120)
    assert json.loads(listed.stdout) == json.loads(expected.stdout)
    assert len(json.loads(listed.stdout)) >= 5
