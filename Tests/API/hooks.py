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
