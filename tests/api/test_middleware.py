"""API requests skip the dashboard's middleware; the dashboard keeps all of it."""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client

from apps.core import dashboard_middleware


def test_an_api_answer_carries_no_dashboard_headers_or_cookies(api_client):
    response = api_client.get("/v1/customers", HTTP_COOKIE="sessionid=whatever")
    assert response.status_code == 200
    assert response["X-Request-Id"].startswith("v-")
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware runs for all
    assert "X-Frame-Options" not in response  # XFrameOptionsMiddleware did not
    assert "Vary" not in response  # SessionMiddleware did not read the cookie
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "user")


def test_the_api_needs_no_csrf_token_and_no_login(api_project):
    from apps.projects.services import api_key_create

    key, token = api_key_create(project=api_project, name="csrf")
    client = Client(enforce_csrf_checks=True, HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token)
    response = client.post("/v1/customers", {"source_id": "c-1"}, content_type="application/json")
    assert response.status_code == 200, response.content


def test_the_dashboard_keeps_login_csrf_and_frame_protection(owner_client, project):
    response = Client().get("/customers/")
    assert response.status_code == 302 and "/login" in response["Location"]

    response = owner_client.get("/customers/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response.wsgi_request.project == project

    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(owner_client.membership.user)
    response = guarded.post("/customers/new/", {"source_id": "x"})
    assert response.status_code == 403  # no CSRF token


def test_the_wrapped_middleware_are_still_the_same_classes_to_django():
    pairs = [
        (dashboard_middleware.SessionMiddleware, SessionMiddleware),
        (dashboard_middleware.CsrfViewMiddleware, CsrfViewMiddleware),
        (dashboard_middleware.AuthenticationMiddleware, AuthenticationMiddleware),
        (dashboard_middleware.MessageMiddleware, MessageMiddleware),
    ]
    for wrapped, original in pairs:
        assert issubclass(wrapped, original)
        assert wrapped.__name__ == original.__name__
    # hooks are declared only where the original has them (Django registers what it finds)
    assert hasattr(dashboard_middleware.CsrfViewMiddleware, "process_view")
    assert not hasattr(dashboard_middleware.SessionMiddleware, "process_view")


def test_an_api_refusal_is_logged_once_with_its_key_and_request_id(api_client, caplog):
    caplog.set_level("INFO", logger="apps.api.errors")
    response = api_client.get("/v1/customers/nobody-has-this-id")
    assert response.status_code == 404
    body = response.json()
    records = [r for r in caplog.records if r.name == "apps.api.errors"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert line.startswith("GET /v1/customers/nobody-has-this-id 404 not_found ")
    assert body["request_id"] in line and body["request_id"] == response["X-Request-Id"]
