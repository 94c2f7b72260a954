"""The host's fast wire encoding equals the plain one (the SDK reads what it writes)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from durable_testkit import _protocol as p

_event = st.dictionaries(st.sampled_from(["EventType", "EventId", "IsPlayed", "Timestamp",
                                          "Name", "Input", "Result", "OrchestrationInstance"]),
                         st.none() | st.booleans() | st.integers() | st.text()
                         | st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
                         max_size=8)


@given(st.lists(_event, max_size=6))
def test_many_events_encode_as_their_comma_joined_wire_texts(events: list) -> None:
    assert p.dumps_wire_many(events) == ",".join(
        json.dumps(e, separators=(",", ":")) for e in events)


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9999, 12, 30),
                    timezones=st.none() | st.just(timezone.utc)
                    | st.builds(lambda h: timezone(timedelta(hours=h)), st.integers(-12, 12))))
def test_format_timestamp_is_strftime_of_the_utc_instant(t: datetime) -> None:
    utc = t.astimezone(timezone.utc) if t.tzinfo is not None else t
    assert p.format_timestamp(t) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)))
def test_parse_timestamp_reads_back_what_format_timestamp_wrote(t: datetime) -> None:
    text = p.format_timestamp(t)
    assert p.parse_timestamp(text) == t.replace(tzinfo=timezone.utc)
    assert p.parse_timestamp(text).tzinfo is timezone.utc
    # the general path (a leading space skips the fast one) agrees
    assert p.parse_timestamp(" " + text) == p.parse_timestamp(text)
