"""Schemathesis fuzzes every operation of our OpenAPI document with generated (and garbage)
parameters and bodies, through the WSGI app, with valid keys: no answer may be a 5xx, and every
answer is JSON. Bounded to a few examples per operation so the suite stays quick;
`FUZZ_EXAMPLES=200 pytest tests/api/test_fuzz.py` runs the long version."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from apps.projects.models import ApiKeyKind
from apps.projects.services import api_key_create
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

ORIGIN = "https://shop.example.com"


def _schema():
    from voucherify_clone.wsgi import application

    # the document is public and built from the code: no database is needed to read it
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", application)


schema = _schema()


@pytest.fixture
def keep_connection():
    """The WSGI app closes "old" connections around each request, and inside a test's
    transaction every connection looks old: keep it, as Django's own test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def keys(db, keep_connection):
    project = ProjectFactory(allowed_origins=[ORIGIN], client_rate_limit=10_000)
    # something to find, so that lookups by id reach the code behind them too
    VoucherFactory(campaign=CampaignFactory(project=project, name="fuzz"), code="FUZZ")
    CustomerFactory(project=project, source_id="fuzz")
    server, server_token = api_key_create(project=project, name="fuzz")
    client, client_token = api_key_create(project=project, name="web", kind=ApiKeyKind.CLIENT)
    return {
        "server": {"X-App-Id": server.app_id, "X-App-Token": server_token},
        "client": {
            "X-Client-Application-Id": client.app_id,
            "X-Client-Token": client_token,
            "Origin": ORIGIN,
        },
    }


@schema.parametrize()
@hypothesis_settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize="FUZZ_EXAMPLES" not in os.environ,
)
def test_no_operation_answers_with_a_server_error(case, keys):
    headers = keys["client"] if case.path.startswith("/client/") else keys["server"]
    response = case.call(headers={**headers, "Host": "localhost"})
    case.validate_response(response, checks=(not_a_server_error,))
    if response.status_code != 204 and response.content:
        [content_type] = response.headers.get("content-type", [""])
        assert content_type.startswith(("application/json", "text/csv")), (
            f"{case.method} {case.path}: {content_type}"
        )
