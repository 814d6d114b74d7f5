"""The host's log lines: one format, produced cheaply (the host logs every episode and every activity)."""

from __future__ import annotations

import logging
import time
from typing import IO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class HostFormatter(logging.Formatter):
    """``logging.Formatter`` that turns each second of wall time into text once (``formatTime`` calls
    ``localtime`` and ``strftime`` for every record); the lines are the same."""

    def __init__(self, fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """``YYYY-MM-DD HH:MM:SS,mmm`` in local time, as ``logging.Formatter`` writes it."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:  # handlers format under their lock, so this pair changes together
            self._second_text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return f"{self._second_text},{int(record.msecs):03d}"  # logging's default_msec_format, "%s,%03d"


def configure_logging(stream: IO[str], level: int = logging.INFO) -> None:
    """Log to ``stream`` in ``LOG_FORMAT``. Records skip what the format never shows: the caller's file and
    line (a walk up the stack per record), the thread, process and multiprocessing names
    (https://docs.python.org/3/howto/logging.html#optimization)."""
    logging._srcfile = None  # type: ignore[attr-defined]  # the documented switch for caller lookup
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HostFormatter())
    logging.basicConfig(level=level, handlers=[handler])
