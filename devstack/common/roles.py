"""Azure role definitions as ARM evaluates them: `actions`/`notActions` patterns with `*` wildcards matching
any run of characters (slashes included), case-insensitively; data actions checked separately."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class RoleDefinition:
    """A role: what it allows (`actions`, `data_actions`) minus what it excludes."""

    name: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    role_id: str = ""

    def allows(self, action: str, data_action: bool = False) -> bool:
        """True when `action` matches an allowed pattern and no excluded one."""
        allow, deny = (
            (self.data_actions, self.not_data_actions) if data_action else (self.actions, self.not_actions)
        )
        return any(action_matches(p, action) for p in allow) and not any(
            action_matches(p, action) for p in deny
        )


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """Whether an Azure action pattern (`*` wildcards, case-insensitive) covers `action`."""
    return bool(_pattern(pattern).match(action))
