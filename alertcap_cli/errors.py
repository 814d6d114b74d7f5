"""Typed CLI errors and the exit codes they map to (gh-style: one line, then `hint:` lines)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes of `alertcap`; documented in docs/cli.md."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    SERVER = 5
    STILL_RUNNING = 8
    NOTIFICATION_FAILED = 9


class CliError(Exception):
    """An error the CLI reports as one line on stderr, followed by `hint:` lines."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *hints: str) -> None:
        super().__init__(message)
        self.message = message
        self.hints: list[str] = [h for h in hints if h]

    def lines(self) -> list[str]:
        """The stderr lines for this error: `error: ...` then one `hint: ...` per hint."""
        first = self.message.splitlines()[0] if self.message else "unknown error"
        return [f"error: {first}", *(f"hint: {h}" for h in self.hints)]


class UsageError(CliError):
    """Bad input from the user (arguments, payload files)."""

    exit_code = ExitCode.USAGE


class NotFoundError(CliError):
    """The run (or other named thing) does not exist."""

    exit_code = ExitCode.NOT_FOUND


class AuthError(CliError):
    """The key was rejected, or no key/credential could be found."""

    exit_code = ExitCode.AUTH


class ServerError(CliError):
    """The app answered 5xx."""

    exit_code = ExitCode.SERVER


class UnreachableError(CliError):
    """The app could not be reached at all (connection refused, DNS, TLS, timeout)."""

    exit_code = ExitCode.ERROR


class StillRunningError(CliError):
    """A wait timed out while the run was still going."""

    exit_code = ExitCode.STILL_RUNNING


class RunEndedError(CliError):
    """A run ended badly (Failed, Terminated) when the command waited for success, or it is already over."""

    exit_code = ExitCode.ERROR


class NotificationFailedError(CliError):
    """The run completed but its operator email could not be sent (retried up to EMAIL_RETRY_SECONDS)."""

    exit_code = ExitCode.NOTIFICATION_FAILED
