import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from apps.api.auth import authenticate
from apps.api.errors import error_response
from apps.core.errors import ApplicationError
from apps.projects.models import ApiKeyKind
from apps.projects.services import api_key_create, api_key_revoke
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def request_with(headers: dict):
    request = RequestFactory().post("/v1/validations", headers=headers)
    request.request_id = "v-test"
    return request


def auth_error(headers: dict, kind=ApiKeyKind.SERVER) -> dict:
    request = request_with(headers)
    with pytest.raises(ApplicationError) as info:
        authenticate(request, kind=kind)
    response = error_response(request, info.value)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    import json

    return json.loads(response.content)


def test_server_key_resolves_the_project():
    project = ProjectFactory()
    api_key, token = api_key_create(project=project, name="k")
    context = authenticate(request_with({"X-App-Id": api_key.app_id, "X-App-Token": token}))
    assert (context.project, context.api_key, context.kind) == (project, api_key, "server")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(time_machine):
    api_key, token = api_key_create(project=ProjectFactory(), name="k")
    headers = {"X-App-Id": api_key.app_id, "X-App-Token": token}
    time_machine.move_to("2026-05-01T10:00:00Z", tick=False)
    authenticate(request_with(headers))
    time_machine.move_to("2026-05-01T10:00:30Z", tick=False)
    authenticate(request_with(headers))
    api_key.refresh_from_db()
    assert api_key.last_used_at.isoformat() == "2026-05-01T10:00:00+00:00"
    time_machine.move_to("2026-05-01T10:01:30Z", tick=False)
    authenticate(request_with(headers))
    api_key.refresh_from_db()
    assert api_key.last_used_at == timezone.now()


def test_missing_headers_are_named():
    body = auth_error({"X-App-Id": "abc"})
    assert body == {
        "code": 401,
        "key": "unauthorized",
        "message": "Unauthorized",
        "details": "Missing header(s): X-App-Token.",
        "request_id": "v-test",
    }


@pytest.mark.parametrize("case", ["wrong_token", "unknown_id", "revoked", "client_key_on_server"])
def test_bad_credentials_are_401(case):
    project = ProjectFactory()
    kind = ApiKeyKind.CLIENT if case == "client_key_on_server" else ApiKeyKind.SERVER
    api_key, token = api_key_create(project=project, name="k", kind=kind)
    app_id = api_key.app_id
    if case == "wrong_token":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif case == "unknown_id":
        app_id = "00000000-0000-0000-0000-000000000000"
    elif case == "revoked":
        api_key_revoke(api_key=api_key)
    body = auth_error({"X-App-Id": app_id, "X-App-Token": token})
    assert body["key"] == "unauthorized"
    assert "invalid or revoked" in body["details"]


def test_client_keys_need_an_allowed_origin():
    project = ProjectFactory(allowed_origins=["https://shop.example.com"])
    api_key, token = api_key_create(
        project=project,
        name="c",
        kind=ApiKeyKind.CLIENT,
        allowed_origins=["https://*.cdn.example.org"],
    )
    headers = {"X-Client-Application-Id": api_key.app_id, "X-Client-Token": token}
    for origin in ("https://shop.example.com", "https://eu.cdn.example.org"):
        context = authenticate(request_with({**headers, "Origin": origin}), kind=ApiKeyKind.CLIENT)
        assert context.project == project and context.kind == "client"
    for origin in ("https://evil.example.com", "http://shop.example.com", None):
        extra = {"Origin": origin} if origin else {}
        body = auth_error({**headers, **extra}, kind=ApiKeyKind.CLIENT)
        assert "is not allowed" in body["details"]


def test_server_keys_do_not_work_as_client_keys():
    project = ProjectFactory(allowed_origins=["*"])
    api_key, token = api_key_create(project=project, name="s")
    body = auth_error(
        {
            "X-Client-Application-Id": api_key.app_id,
            "X-Client-Token": token,
            "Origin": "https://x.io",
        },
        kind=ApiKeyKind.CLIENT,
    )
    assert body["code"] == 401


def test_verified_keys_are_cached_briefly_per_process(settings, api_project):
    from apps.api import auth

    settings.API_KEY_CACHE_SECONDS = 60
    auth._verified.clear()
    key, token = api_key_create(project=api_project, name="cached")
    client = Client(HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token)
    assert client.get("/v1/async-actions").status_code == 200
    assert all(token not in str(entry) for entry in auth._verified)  # only a digest is kept
    api_key_revoke(api_key=key)
    # within the cache's lifetime this process still knows the key...
    assert client.get("/v1/async-actions").status_code == 200
    # ...a wrong token is never served from the cache, and once it expires the key is gone
    wrong = Client(HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token + "x")
    assert wrong.get("/v1/async-actions").status_code == 401
    auth._verified.clear()
    assert client.get("/v1/async-actions").status_code == 401
