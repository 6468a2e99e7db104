"""Reads an RFC 5545 calendar file with the `icalendar` package (a real
parser, from PyPI) and prints what a calendar would show, as JSON: the
tests check Samrom's .ics files with it rather than with Samrom's own code.

usage: read_calendar.py FILE
"""
import json
import sys

import icalendar

with open(sys.argv[1], "rb") as f:
    raw = f.read()
calendar = icalendar.Calendar.from_ical(raw)
events = []
for event in calendar.walk("VEVENT"):
    alarms = [str(a.get("TRIGGER").to_ical(), "ascii") for a in event.walk("VALARM")]
    events.append({
        "uid": str(event.get("UID")),
        "start": event.decoded("DTSTART").isoformat(),
        "end": event.decoded("DTEND").isoformat(),
        "summary": str(event.get("SUMMARY")),
        "description": str(event.get("DESCRIPTION")),
        "url": str(event.get("URL")) if event.get("URL") is not None else None,
        "alarms": alarms,
        "errors": [str(e) for e in getattr(event, "errors", [])],
    })
lines = raw.split(b"\r\n")
print(json.dumps({
    "version": str(calendar.get("VERSION")),
    "prodid": str(calendar.get("PRODID")),
    "events": events,
    "longestLine": max(len(line) for line in lines),
    "crlf": raw.count(b"\r\n") == raw.count(b"\n"),
}))
