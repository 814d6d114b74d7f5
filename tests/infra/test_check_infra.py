"""`make check-infra` passes on infra/ and fails, naming the file, on a template that does not parse."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import check_infra  # noqa: E402


def test_repository_infra_passes() -> None:
    assert check_infra.problems(REPO / "infra") == []


def test_a_broken_template_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(REPO / "infra", copy)
    storage = copy / "app" / "storage.bicep"
    storage.write_text(storage.read_text().replace("kind: 'StorageV2'", "kind: 'StorageV2' +", 1))
    found = check_infra.problems(copy)
    assert len(found) == 1 and "storage.bicep" in found[0]
