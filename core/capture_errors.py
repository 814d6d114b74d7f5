"""What Network Watcher's packet-capture error codes mean for an operator (the `packetCaptureError` values of
the packet capture status API), so a failed run's email says what to fix."""

from __future__ import annotations

CAPTURE_ERROR_HINTS: dict[str, str] = {
    "StorageFailed": (
        "Network Watcher could not write the capture file into the storage account. It writes with a SAS, so "
        "the capture account must allow shared key access (allowSharedKeyAccess true), must not be Premium, "
        "and the VM must reach it on port 443."
    ),
    "AgentStopped": "The Network Watcher agent on the VM stopped during the capture.",
    "CaptureFailed": "The Network Watcher agent could not capture on the VM.",
    "LocalFileFailed": "The Network Watcher agent could not write the local capture file on the VM.",
    "InternalError": "Network Watcher reported an internal error.",
}


def explain_capture_errors(codes: list[str]) -> str:
    """One sentence per known code, in order, without repeats ("" when none is known)."""
    hints = [CAPTURE_ERROR_HINTS[c] for c in dict.fromkeys(codes) if c in CAPTURE_ERROR_HINTS]
    return " ".join(hints)
