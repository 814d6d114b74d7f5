"""The runtime ranges (requirements.txt) and the dev pins (requirements-dev.txt) must agree."""

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _reqs(name: str) -> dict[str, Requirement]:
    lines = (ROOT / name).read_text().splitlines()
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
