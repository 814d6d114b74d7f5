"""Product test fixtures: loads the replay harness (a helper module in this folder, not a package)."""

import importlib.util
import sys
from pathlib import Path

_HARNESS = Path(__file__).with_name("replay_harness.py")
_spec = importlib.util.spec_from_file_location("product_replay_harness", _HARNESS)
assert _spec and _spec.loader
_module = importlib.util.module_from_spec(_spec)
sys.modules["product_replay_harness"] = _module
_spec.loader.exec_module(_module)
