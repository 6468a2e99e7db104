"""A real OpenID Connect provider for the tests: oidc-provider-mock (PyPI,
made for testing relying parties), over HTTPS on 127.0.0.1, with the users
given as JSON. Prints "listening PORT" once it accepts connections.

    provider.py CERT KEY USERS_JSON [TOKEN_MAX_AGE_SECONDS]

USERS_JSON is a list of {"sub": ..., other claims...}; their claims go into
the ID tokens issued for them (authlib puts the user info in the token).
The provider requires a nonce, as Samrom always sends one."""
import json
import sys
from datetime import timedelta

import werkzeug.serving
from oidc_provider_mock import app
from oidc_provider_mock._storage import User

cert, key, users_json = sys.argv[1:4]
max_age = int(sys.argv[4]) if len(sys.argv) > 4 else 3600
users = [User(sub=u.pop("sub"), claims=u) for u in json.loads(users_json)]
server = werkzeug.serving.make_server(
    "127.0.0.1", 0,
    app(require_nonce=True, user_claims=users, access_token_max_age=timedelta(seconds=max_age)),
    threaded=True, ssl_context=(cert, key))
print(f"listening {server.server_port}", flush=True)
server.serve_forever()
