"""The devstack admin API under `/_devstack/` (its own HTTPS server): reset, captures, emails, VMs, faults,
clock, role assignments and test tokens. JSON in and out; loopback only, no authentication."""

from devstack.admin.api import ADMIN_PREFIX, AdminApi

__all__ = ["ADMIN_PREFIX", "AdminApi"]
