"""Triage test helpers: modules in this folder (not a package) loaded under ``triage_<name>`` names."""

import importlib.util
import sys
from pathlib import Path

for _name in ("pcaps", "oracle"):
    _path = Path(__file__).with_name(f"{_name}.py")
    _spec = importlib.util.spec_from_file_location(f"triage_{_name}", _path)
    assert _spec and _spec.loader
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[f"triage_{_name}"] = _module
    _spec.loader.exec_module(_module)
