"""Every /v1 URL: a JSON 401 without a valid key, never a login redirect or an HTML page."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.urlcrawl import api_routes

pytestmark = pytest.mark.django_db


def test_every_api_url_needs_a_key_and_answers_in_json():
    # the OpenAPI document and its docs page are public, like Voucherify's reference
    routes = [
        route
        for route in api_routes()
        if "openapi" not in route.name
        and route.name.split(":")[-1] not in ("api-root", "v1-unknown")
        and not reverse(route.name, kwargs=dict.fromkeys(route.kwargs, "r_x")).startswith(
            "/client/"
        )
    ]
    for root in ("/v1/", "/client/v1/", "/v1/no-such-thing"):
        assert Client().get(root).json()["key"] == "not_found"
    assert len(routes) >= 6
    anonymous = Client()
    bad_key = Client(HTTP_X_APP_ID="nobody", HTTP_X_APP_TOKEN="nothing")
    for route in routes:
        url = reverse(route.name, kwargs=dict.fromkeys(route.kwargs, "r_x"))
        for client in (anonymous, bad_key):
            for method in ("get", "post"):
                response = getattr(client, method)(url, content_type="application/json")
                if response.status_code == 405:
                    continue
                assert response.status_code == 401, f"{method} {url} -> {response.status_code}"
                assert response["Content-Type"] == "application/json"
                assert response.json()["key"] == "unauthorized"


def test_the_openapi_document_lists_the_checkout_endpoints(client):
    document = client.get("/v1/openapi.json").json()
    operation_ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert len(operation_ids) == len(set(operation_ids)), "operation ids must be unique"
    for path in ("/v1/validations", "/v1/redemptions", "/v1/qualifications"):
        assert path in document["paths"], path
    assert client.get("/v1/docs").status_code == 200


def test_the_interactive_docs_load_nothing_from_the_internet(client):
    page = client.get("/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn." not in page and "https://" not in page.split("<body", 1)[0]
