"""Small helpers shared by the API tests."""

import json


def send(client, method: str, path: str, body=None):
    """`method` on `path` with `body` (a dict, list or raw string) as JSON."""
    data = body if body is None or isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(path, data, content_type="application/json")
