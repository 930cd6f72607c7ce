import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.urls import reverse

from apps.projects.models import Role
from apps.projects.services import api_key_create, api_key_regenerate, invitation_create
from tests.projects.factories import MembershipFactory


def database_dump() -> str:
    return "\n".join(
        serializers.serialize("json", model._default_manager.all()) for model in apps.get_models()
    )


@pytest.mark.django_db
def test_tokens_never_reach_the_database_in_clear(owner_client, project, capsys):
    # given secrets made every way the product makes them
    secrets = []
    _, token = api_key_create(project=project, name="service")
    secrets.append(token)
    other, _ = api_key_create(project=project, name="rotated", kind="client")
    secrets.append(api_key_regenerate(api_key=other))
    response = owner_client.post(reverse("projects:api_keys"), {"name": "ui", "kind": "server"})
    secrets.append(response.context["new_token"])
    _, invite_token = invitation_create(
        project=project,
        email="x@example.com",
        role=Role.VIEWER,
        by=MembershipFactory(project=project),
    )
    secrets.append(invite_token)
    call_command("seed_demo")
    secrets.append(capsys.readouterr().out.split("X-App-Token: ")[1].strip())
    # when the whole database is dumped
    dump = database_dump()
    # then none of them is in it, though their hashes are
    assert all(len(secret) >= 32 for secret in secrets)
    assert [secret for secret in secrets if secret in dump] == []
    assert '"secret_hash"' in dump
