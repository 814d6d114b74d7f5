"""Plumbing shared by the devstack emulators: TLS, tokens, RBAC, ARM errors, faults, servers, clock."""
