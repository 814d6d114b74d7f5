"""Every code name the docs cite in backticks exists in the repo.

The docs (README.md and docs/*.md) name files, modules and functions in inline code spans. A span is checked
when it looks like one of these (anything else, e.g. a setting, a JSON key or a shell line, is left alone):

- a repo path: no spaces, its first segment is a top-level entry of the checkout (`devstack/host/`,
  `core/outcome.py`, `docs/host.md`); the path must exist (wildcards `*` match with glob);
  a bare `.py`/`.md` file name (`replay.py`) must be the name of some file in the checkout;
- a dotted name starting with one of our top-level packages (`devstack.host.replay`, `core.outcome.Outcome`,
  also as `devstack.testing.wait_until()`): the longest prefix that is a module must exist, and the next
  component must be defined or imported in it;
- a bare snake_case call `name_with_underscore(...)` (no receiver, no nested parentheses) or a private name
  `_name`: defined (def/class/assignment) somewhere in our Python code or in the two SDKs whose internals
  the docs discuss (azure-functions, azure-functions-durable), or a Python builtin;
- in a command span, the module after `python -m` is checked as a dotted name.

Left alone on purpose: calls on other objects (`df.Blueprint()`), camelCase calls (Bicep's
`loadJsonContent()`), settings and keys (`WEBHOOK_AUTH`), runtime files (`state.json`, `.devstack/...`:
not in the checkout) and placeholders (`<region>`, `{id}`).
"""

from __future__ import annotations

import builtins
import re
import subprocess
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from devstack.paths import REPO_ROOT

PACKAGES = ("core", "devstack", "activities", "orchestrators", "http_starter", "alertcap_cli", "function_app")
DATA_SUFFIXES = (".log", ".json", ".jsonl", ".toml", ".txt", ".pcap", ".cap", ".eml")  # file names
SDK_SOURCES = ("azure/functions", "azure/durable_functions")  # under site-packages
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_BARE_CALL = re.compile(r"^([a-z_][a-z0-9]*_\w*)\([^()]*\)$")
_DOTTED_CALL = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\([^()]*\)$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_PRIVATE = re.compile(r"^_[a-z]\w*$")
_MODULE_FLAG = re.compile(r"(?:^|\s)-m\s+([\w.]+)")
_DEFINITION = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.M)
_ASSIGNMENT = re.compile(r"^[ \t]*(?:self\.)?(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", re.M)
_IMPORT = re.compile(r"^(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(\([^)]*\)|[^\n]+)", re.M)


@dataclass(frozen=True)
class Citation:
    """One backticked name in a doc, and what kind of check it gets."""

    doc: str
    text: str
    kind: str  # "path", "dotted", "call", "private"
    name: str


def spans(markdown: str) -> list[str]:
    """The inline code spans of a Markdown text, fenced blocks excluded."""
    return _SPAN.findall(_FENCE.sub("", markdown))


def classify(doc: str, span: str, top_level: frozenset[str]) -> list[Citation]:
    """What in `span` names the repo (see the module docstring); [] when it names nothing checkable."""
    text = span.strip()
    found = [Citation(doc, text, "dotted", m) for m in _MODULE_FLAG.findall(text)
             if m.split(".")[0] in PACKAGES]
    if found or re.search(r"\s", text):
        return found
    if "<" in text or "{" in text or "://" in text:
        return []
    if "/" in text and text.split("/")[0] in top_level:
        return [Citation(doc, text, "path", text.split("#")[0].split(":")[0])]
    if "/" not in text and text.endswith((".py", ".md")) and not text.startswith("."):
        return [Citation(doc, text, "path", text)]
    call = _BARE_CALL.match(text)
    if call:
        return [Citation(doc, text, "call", call.group(1))]
    dotted = _DOTTED_CALL.match(text)
    name = dotted.group(1) if dotted else text
    if _DOTTED.match(name) and name.split(".")[0] in PACKAGES and not name.endswith(DATA_SUFFIXES):
        return [Citation(doc, text, "dotted", name)]
    if _PRIVATE.match(text):
        return [Citation(doc, text, "private", text)]
    return []


@cache
def tracked_files(root: Path) -> tuple[str, ...]:
    """Every file git tracks, plus untracked ones it does not ignore (relative, '/'-separated)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    return tuple(line for line in out.splitlines() if (root / line).exists())


def _sdk_files() -> list[Path]:
    site = Path(sysconfig.get_paths()["purelib"])
    return [f for sdk in SDK_SOURCES for f in sorted((site / sdk).rglob("*.py"))]


def names_in(source: str) -> set[str]:
    """The names a Python source defines or imports, found line by line (a grep: fast, and a name only has
    to be defined somewhere for a doc to cite it): def/class at any depth, assignments, imports."""
    names = set(_DEFINITION.findall(source)) | set(_ASSIGNMENT.findall(source))
    for group in _IMPORT.findall(source):
        names.update(part.split(" as ")[-1].strip().split(".")[0] for part in group.strip("()").split(","))
    return {n for n in names if n.isidentifier()}


@cache
def defined_names(root: Path) -> dict[str, frozenset[str]]:
    """Module path -> the names its Python file defines; "" holds the union of all modules."""
    by_module: dict[str, frozenset[str]] = {}
    for rel in tracked_files(root):
        if rel.endswith(".py") and not rel.startswith("devstack/node/"):
            module = rel[:-3].removesuffix("/__init__").replace("/", ".")
            by_module[module] = frozenset(names_in((root / rel).read_text(errors="replace")))
    by_module[""] = frozenset().union(*by_module.values())
    return by_module


@cache
def sdk_names() -> frozenset[str]:
    """Every name the SDKs in SDK_SOURCES define (read only when our own code lacks a cited name)."""
    return frozenset().union(*(names_in(f.read_text(errors="replace")) for f in _sdk_files()))


def exists(citation: Citation, root: Path) -> bool:
    """Whether the name a citation gives is in the checkout at `root`."""
    files = tracked_files(root)
    names = defined_names(root)
    if citation.kind == "path":
        if "/" not in citation.name:
            return any(f.rsplit("/", 1)[-1] == citation.name for f in files)
        path = citation.name.rstrip("/")
        return any(root.glob(path)) if "*" in path else (root / path).exists()
    if citation.kind in ("call", "private"):
        name = citation.name
        return name in names[""] or hasattr(builtins, name) or name in sdk_names()
    parts = citation.name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module in names:
            return cut == len(parts) or parts[cut] in names[module] or f"{module}.{parts[cut]}" in names
    return False


def citations(root: Path) -> list[Citation]:
    """Every checkable citation in README.md and docs/*.md of the checkout at `root`."""
    top_level = frozenset(f.split("/")[0] for f in tracked_files(root))
    docs = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [c for doc in docs if doc.exists() for span in spans(doc.read_text())
            for c in classify(str(doc.relative_to(root)), span, top_level)]


def test_every_name_the_docs_cite_exists() -> None:
    found = citations(REPO_ROOT)
    assert len(found) > 50, "the docs cite far fewer names than expected: is the extraction broken?"
    missing = [f"{c.doc}: `{c.text}`" for c in found if not exists(c, REPO_ROOT)]
    assert not missing, "docs cite names that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize(("span", "kind", "present"), [
    ("devstack/host/testing.py", "path", True),
    ("devstack/host/no_such_module.py", "path", False),
    ("devstack.testing.wait_until", "dotted", True),
    ("devstack.testing.wait_for_everything", "dotted", False),
    ("wait_until()", "call", True),
    ("_sleep_until()", "call", False),
    ("_sleep_until", "private", False),
    ("python -m devstack.demo --plain", "dotted", True),
    ("python -m devstack.no_demo", "dotted", False),
])
def test_the_check_tells_real_names_from_invented_ones(span: str, kind: str, present: bool) -> None:
    top_level = frozenset(f.split("/")[0] for f in tracked_files(REPO_ROOT))
    [citation] = classify("x.md", span, top_level)
    assert citation.kind == kind
    assert exists(citation, REPO_ROOT) is present


@pytest.mark.parametrize("span", ["WEBHOOK_AUTH", ".devstack/state.json", "NetworkWatcher_<region>",
                                  "devstack.log", "make demo", "https://example.com/a.py",
                                  "-o json|table|tsv|none"])
def test_settings_runtime_paths_and_commands_are_not_checked(span: str) -> None:
    top_level = frozenset(f.split("/")[0] for f in tracked_files(REPO_ROOT))
    assert classify("x.md", span, top_level) == []


def test_fenced_blocks_are_skipped_and_a_wrong_doc_fails(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "pkg.py").write_text("def real_one() -> None:\n    pass\n")
    (tmp_path / "README.md").write_text("Call `real_one()`, not `made_up()`.\n\n```\n`in_fence()`\n```\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    found = citations(tmp_path)
    assert [c.name for c in found] == ["real_one", "made_up"]
    assert [exists(c, tmp_path) for c in found] == [True, False]
