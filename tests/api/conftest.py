import pytest

from apps.projects.services import api_key_create
from tests.projects.factories import ProjectFactory


@pytest.fixture
def api_project(db):
    return ProjectFactory(name="API shop", currency="USD")


@pytest.fixture
def api_client(client, api_project):
    """A Django test client that sends the project's server key with every request."""
    key, token = api_key_create(project=api_project, name="tests")
    client.defaults["HTTP_X_APP_ID"] = key.app_id
    client.defaults["HTTP_X_APP_TOKEN"] = token
    client.project = api_project
    return client


@pytest.fixture
def other_client(db):
    """A Django test client with the server key of a second project (`other_client.project`)."""
    from django.test import Client

    project = ProjectFactory(name="Other shop")
    key, token = api_key_create(project=project, name="other")
    client = Client(HTTP_X_APP_ID=key.app_id, HTTP_X_APP_TOKEN=token)
    client.project = project
    return client


@pytest.fixture
def sdk(live_server, transactional_db):
    """`sdk(project)` -> a configured voucherify.ApiClient pointed at the live server with a new
    server key of `project` (the official SDK, unchanged)."""
    import voucherify

    def make(project):
        key, token = api_key_create(project=project, name="sdk")
        configuration = voucherify.Configuration(
            host=live_server.url, api_key={"X-App-Id": key.app_id, "X-App-Token": token}
        )
        return voucherify.ApiClient(configuration)

    return make
