"""Virtual time for the in-memory host.

Durable timers, retry delays and ``current_utc_datetime`` all read this clock,
so a test that waits a week runs in microseconds. Nothing here ever sleeps.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

__all__ = ["DEFAULT_START_TIME", "VirtualClock"]

#: Where virtual time starts unless told otherwise: fixed, so histories,
#: new_uuid() values and timer fire times are the same on every run.
DEFAULT_START_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)


class VirtualClock:
    """A monotonic UTC clock that only moves when the host moves it."""

    __slots__ = ("_now",)

    def __init__(self, start: Optional[datetime] = None) -> None:
        start = DEFAULT_START_TIME if start is None else start
        if start.tzinfo is None:
            # A naive start would be read as local time by some callers and UTC by
            # others; the Durable host only ever works in UTC.
            raise ValueError(
                f"start_time must be timezone-aware (UTC), got naive {start!r}; "
                "use datetime(..., tzinfo=timezone.utc)")
        self._now = start.astimezone(timezone.utc)

    @property
    def now(self) -> datetime:
        """The current virtual instant (timezone-aware UTC)."""
        return self._now

    def advance_to(self, instant: datetime) -> None:
        """Move forward to ``instant``; moving backwards is ignored (time never rewinds)."""
        if instant > self._now:
            self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new instant."""
        if delta < timedelta(0):
            raise ValueError(f"cannot move virtual time backwards (delta={delta})")
        self._now = self._now + delta
        return self._now

    def __repr__(self) -> str:
        return f"VirtualClock({self._now.isoformat()})"
