"""Offline checks of infra/: every .bicep parses (pycep-parser, the Bicep grammar checkov uses; the Bicep CLI
is not installable from PyPI/npm/Debian) and every JSON file the Bicep loads is valid JSON.

Usage: python scripts/check_infra.py [infra dir]; exit status 1 and one line per problem when something fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[1]


def problems(infra: Path) -> list[str]:
    """One message per file that does not parse."""
    found = []
    parser = BicepParser()
    for path in sorted(infra.rglob("*.bicep")):
        try:
            parser.parse(file_path=path)
        except Exception as exc:  # pycep raises lark's errors; the message names line and column
            found.append(f"{path}: does not parse: {str(exc).splitlines()[0]}")
    for path in sorted(infra.rglob("*.json")):
        try:
            json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            found.append(f"{path}: invalid JSON: {exc}")
    return found


def main() -> int:
    infra = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "infra"
    found = problems(infra)
    for line in found:
        print(line)
    print(f"check-infra: {'FAILED' if found else 'ok'} ({infra})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
