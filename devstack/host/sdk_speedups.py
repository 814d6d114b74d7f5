"""Memoised stand-ins for two pure functions the Durable SDK calls on every replay; results are unchanged.

Every episode replays the whole history, so the SDK (azure-functions-durable, pinned) would:

- parse each event's ``Timestamp`` with ``dateutil.parser.parse`` again and again (``HistoryEvent``), the
  host's largest single cost. The stand-in parses a text once (LRU cache); a timestamp in the form the host
  writes (``2026-01-02T03:04:05.1234560Z``) is the cached parse of its whole second with the fraction set as
  dateutil sets it (the first 6 digits), so each second of wall time is handed to dateutil only once. The
  result equals dateutil's, time zone object included (``tests/host/test_sdk_speedups.py`` checks this).
- build a ``namedtuple`` class in every ``TaskOrchestrationExecutor()`` (one per episode), which compiles
  code; the stand-in builds each (name, fields) class once.

``install()`` swaps the names in the SDK's modules; it is idempotent.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

from dateutil.parser import parse as dateutil_parse

_HISTORY_EVENT_MODULE = "azure.durable_functions.models.history.HistoryEvent"
_EXECUTOR_MODULE = "azure.durable_functions.models.TaskOrchestrationExecutor"
_FRACTION_UTC = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,7})Z")


@functools.lru_cache(maxsize=65536)
def parse_timestamp(text: Any) -> dt.datetime:
    """``dateutil.parser.parse(text)``, computed once per text (and once per whole second for UTC times
    with a fraction)."""
    if isinstance(text, str):
        match = _FRACTION_UTC.fullmatch(text)
        if match is not None:
            whole = _parse_whole_second(match[1] + "Z")
            return whole.replace(microsecond=int(match[2][:6].ljust(6, "0")))
    return dateutil_parse(text)


@functools.lru_cache(maxsize=4096)
def _parse_whole_second(text: str) -> dt.datetime:
    return dateutil_parse(text)


def _timestamp_parser(original: Callable[..., dt.datetime]) -> Callable[..., dt.datetime]:
    """The SDK's ``dt_parse`` name: the memoised parser for one argument, the original otherwise."""

    @functools.wraps(original)
    def dt_parse(timestr: Any, *args: Any, **kwargs: Any) -> dt.datetime:
        if args or kwargs:
            return original(timestr, *args, **kwargs)
        try:
            return parse_timestamp(timestr)
        except TypeError:  # unhashable input: let dateutil say what is wrong with it
            return original(timestr)

    dt_parse.memoised = True  # type: ignore[attr-defined]
    return dt_parse


@functools.lru_cache(maxsize=256)
def _namedtuple(typename: str, field_names: Any, **kwargs: Any) -> type:
    return collections.namedtuple(typename, field_names, **kwargs)


def _memoised_namedtuple(typename: str, field_names: Any, **kwargs: Any) -> type:
    """``collections.namedtuple``, built once per (name, fields, options)."""
    try:
        return _namedtuple(typename, field_names, **kwargs)
    except TypeError:  # unhashable field list (e.g. a list): build it as the SDK would
        return collections.namedtuple(typename, field_names, **kwargs)


def install() -> None:
    """Put the memoised functions in place in the SDK's modules (once)."""
    history_event = importlib.import_module(_HISTORY_EVENT_MODULE)
    if not getattr(history_event.dt_parse, "memoised", False):
        history_event.dt_parse = _timestamp_parser(history_event.dt_parse)  # type: ignore[attr-defined]
    executor = importlib.import_module(_EXECUTOR_MODULE)
    executor.namedtuple = _memoised_namedtuple  # type: ignore[attr-defined]
