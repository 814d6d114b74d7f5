"""The runtime ranges (requirements.txt) and the dev pins (requirements-dev.txt) must agree."""

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.paths import REPO_ROOT


def _reqs(name: str) -> dict[str, Requirement]:
    lines = (REPO_ROOT / name).read_text().splitlines()
    reqs = [Requirement(s) for s in (ln.split("#")[0].strip() for ln in lines) if s and not s.startswith("-")]
    return {canonicalize_name(r.name): r for r in reqs}


def test_every_runtime_requirement_is_pinned_for_dev_within_its_range() -> None:
    runtime, dev = _reqs("requirements.txt"), _reqs("requirements-dev.txt")
    for name, req in runtime.items():
        assert name in dev, f"{name} has no pin in requirements-dev.txt"
        (pin,) = [s.version for s in dev[name].specifier if s.operator == "=="]
        assert req.specifier.contains(pin), f"{name}=={pin} is outside {req.specifier}"


def test_dev_requirements_are_exact_pins() -> None:
    for name, req in _reqs("requirements-dev.txt").items():
        assert [s.operator for s in req.specifier] == ["=="], f"{name} is not pinned exactly"


APP_DIRS = ("core", "activities", "http_starter", "orchestrators")


def _app_imports() -> set[str]:
    """Third-party imports of the function app's own code, e.g. {'azure.mgmt.network', 'numpy'}."""
    import ast

    files = [REPO_ROOT / "function_app.py", *(p for d in APP_DIRS for p in (REPO_ROOT / d).rglob("*.py"))]
    names: set[str] = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    own = {*APP_DIRS, "function_app"}
    third_party = {n for n in names if n.split(".")[0] not in sys.stdlib_module_names | own}
    return {n for n in third_party if n.startswith("azure.") or "." not in n}


def _owning_distribution(module: str) -> str:
    """The installed distribution whose files hold `module` (namespace packages resolved per file).

    Only the distributions that provide the module's top-level package are searched, and their file lists
    are compared as paths, not resolved one by one: azure-mgmt-network alone lists thousands of files."""
    import importlib.util
    from importlib.metadata import distribution, packages_distributions

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not importable"
    origin = Path(spec.origin).resolve()
    for name in packages_distributions().get(module.split(".")[0], []):
        dist = distribution(name)
        root = Path(dist.locate_file("")).resolve()
        if origin.is_relative_to(root) and any(
                Path(str(file)) == origin.relative_to(root) for file in dist.files or ()):
            return canonicalize_name(dist.metadata["Name"])
    raise AssertionError(f"no installed distribution owns {origin}")


def test_the_app_imports_exactly_what_requirements_txt_declares() -> None:
    declared = set(_reqs("requirements.txt"))
    used = {_owning_distribution(m) for m in _app_imports()}
    assert used - declared == set(), "imported by the app but not in requirements.txt"
    assert declared - used == set(), "in requirements.txt but never imported by the app"
