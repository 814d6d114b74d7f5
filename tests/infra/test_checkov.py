"""`make check-infra` runs checkov (its own venv, requirements-checkov.txt) with the skips infra/.checkov.yaml
justifies: infra/ passes (make test); a broken copy fails naming the check. One checkov run, ~7 s CPU."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import check_infra  # noqa: E402


def test_every_skip_is_justified_on_its_line() -> None:
    lines = (REPO / "infra" / ".checkov.yaml").read_text().splitlines()
    skips = [line for line in lines if re.match(r"\s+- CKV_", line)]
    assert skips
    assert [line for line in skips if not re.match(r"\s+- CKV_\w+\s+#\s*\S.{15,}", line)] == []


def test_checkov_fails_a_function_app_without_https_only(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(REPO / "infra", copy)
    function = copy / "app" / "function.bicep"
    function.write_text(function.read_text().replace("httpsOnly: true", "httpsOnly: false", 1))
    found = check_infra.checkov_problems(copy)
    assert found and all(line.startswith(f"{function}: checkov CKV_AZURE_") for line in found), found
    assert any(line.startswith(f"{function}: checkov CKV_AZURE_70 ") for line in found)  # HTTPS only
    assert all(line.endswith("fails on Microsoft.Web/sites.site") for line in found)
