import pytest
from django.core.cache import cache

from apps.core.events import Listeners
from apps.projects.middleware import SESSION_PROJECT_KEY
from apps.projects.models import Role
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty per-process cache: cached lookups (event listeners,
    segments that read summaries) must not leak from one test's project to the next test's
    project that happens to get the same primary key."""
    cache.clear()
    Listeners.clear_local()


@pytest.fixture
def project(db):
    return ProjectFactory(name="Acme Shop")


@pytest.fixture
def member_client(client, project):
    """`member_client(role)` → a test client logged in as a new member of `project` with `role`."""

    def make(role: str = Role.OWNER, project=project):
        membership = MembershipFactory(project=project, role=role)
        client.force_login(membership.user)
        session = client.session
        session[SESSION_PROJECT_KEY] = project.public_id
        session.save()
        client.membership = membership
        return client

    return make


@pytest.fixture
def owner_client(member_client):
    return member_client(Role.OWNER)
