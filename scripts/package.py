"""Build the deployment zip the way Core Tools and azd do: the project folder minus what `.funcignore` lists
(gitignore-style patterns), files at the zip's root, without the Python packages (the Flex Consumption build
installs requirements.txt remotely).

Usage: python scripts/package.py [--out dist/alertcap.zip]
"""

from __future__ import annotations

import argparse
import fnmatch
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # reproducible zips: same tree, same bytes


def ignore_patterns(root: Path) -> list[str]:
    """The non-comment, non-empty lines of `<root>/.funcignore`."""
    lines = (root / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(relative: str, is_dir: bool, patterns: list[str]) -> bool:
    """gitignore semantics for the patterns Core Tools' .funcignore uses: `dir/` matches a directory at any
    depth, `/x` or `a/b` is anchored at the root, anything else matches a name at any depth."""
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        directory_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        if directory_only and not is_dir:
            continue
        if "/" in body:
            if fnmatch.fnmatchcase(relative, body.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(name, body):
            return True
    return False


def package_files(root: Path) -> list[Path]:
    """Every file of the package, sorted, skipping ignored directories without descending into them."""
    patterns = ignore_patterns(root)
    files: list[Path] = []

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            relative = entry.relative_to(root).as_posix()
            if entry.is_symlink() or ignored(relative, entry.is_dir(), patterns):
                continue
            if entry.is_dir():
                walk(entry)
            elif entry.is_file():
                files.append(entry)

    walk(root)
    return files


def build(out: Path, root: Path = ROOT) -> Path:
    """Write the zip to `out` and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in package_files(root):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "alertcap.zip")
    out = build(parser.parse_args().out)
    with zipfile.ZipFile(out) as archive:
        count = len(archive.namelist())
    print(f"{out}: {count} files, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
