"""The only source of "now" for deadlines and availability; tests move it with ``frozen``."""

import contextlib
import datetime as dt
import threading
from zoneinfo import ZoneInfo

from django.utils import timezone

ROME = ZoneInfo("Europe/Rome")
_state = threading.local()
_global_frozen: list[dt.datetime] = []


def now() -> dt.datetime:
    """Aware UTC datetime: the frozen instant if a test froze the clock, else the real time."""
    if _global_frozen:
        return _global_frozen[-1]
    return timezone.now()


def local_now() -> dt.datetime:
    return now().astimezone(ROME)


def rome(year, month, day, hour=0, minute=0, second=0) -> dt.datetime:
    """An aware instant given as Europe/Rome wall-clock time (the legal time of Italian deadlines)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=ROME)


@contextlib.contextmanager
def frozen(instant: dt.datetime):
    """Freeze ``now()`` at ``instant`` (aware) for every thread until the block ends."""
    if timezone.is_naive(instant):
        raise ValueError("frozen() needs an aware datetime")
    _global_frozen.append(instant.astimezone(dt.UTC))
    try:
        yield
    finally:
        _global_frozen.pop()


def freeze(instant: dt.datetime) -> None:
    """Freeze without a block (tests unfreeze with ``unfreeze``)."""
    _global_frozen.append(instant.astimezone(dt.UTC))


def unfreeze() -> None:
    _global_frozen.clear()


def frozen_instant() -> dt.datetime | None:
    """The frozen instant, or None when the clock runs (lets SQL use the database's own clock)."""
    return _global_frozen[-1] if _global_frozen else None


def rome_text(instant: dt.datetime) -> str:
    """An instant as people read it in messages: Europe/Rome wall-clock time, in the active locale."""
    from django.utils import formats

    return formats.date_format(instant.astimezone(ROME), "DATETIME_FORMAT")
