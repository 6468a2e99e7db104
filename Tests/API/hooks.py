"""schemathesis hooks for scripts/test-api-schema.sh.

Query values are sent with spaces as %20 (RFC 3986), as the browser client
does (Web/audit/audit.js): the server reads `+` in a query as a plus sign,
not as the space of HTML form encoding, which Python's `urlencode` (and so
requests and schemathesis) would send by default.
"""
import functools
import urllib.parse

import requests.models
import schemathesis.transport.requests as transport

_urlencode = functools.partial(urllib.parse.urlencode, quote_via=urllib.parse.quote)
requests.models.urlencode = _urlencode
transport.urlencode = _urlencode


# A booked time must start no more than an hour ago and end within 84 days
# of the consultation's creation, which a schema cannot say: nearly every
# generated `startsAt` is long past or far off, so the calendar files and
# invitations would only ever see `409 not-booked`. Half of the well-formed
# times (and always the description's own example) are moved to a time the
# server accepts, tomorrow or later; the other half stay as generated, so
# the refusals (400 bad-field) are tried as well.
import datetime
import re

import schemathesis

_BOOKING_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})")
_EXAMPLES = {"2026-12-08T10:00:00+01:00", "2026-12-09T14:30:00+01:00"}
_BOOKING_OPERATIONS = {("POST", "/api/consultations"), ("PUT", "/api/consultations/{id}/booking")}


@schemathesis.hook
def before_call(context, case, kwargs):
    if (case.method.upper(), case.operation.path) not in _BOOKING_OPERATIONS or not isinstance(case.body, dict):
        return
    starts = case.body.get("startsAt")
    if not isinstance(starts, str) or not _BOOKING_TIME.fullmatch(starts):
        return
    if starts not in _EXAMPLES and sum(starts.encode()) % 2:
        return
    hours = 24 + sum(starts.encode()) % (24 * 30)
    when = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(hours=hours)
    case.body = {**case.body, "startsAt": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
