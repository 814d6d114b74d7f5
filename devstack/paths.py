"""Where this checkout is: the one definition of the repository root that code, tests and benches use."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
