import re

import pytest
from django.core.management import CommandError, call_command

from apps.customers.models import Customer, CustomEvent
from apps.orders.models import Order, OrderEvent
from apps.products.models import Product, Sku
from apps.projects.models import ApiKey, Membership, Project, Role
from apps.projects.services import api_key_verify

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_create_project_prints_its_id():
    lines = run(
        "create_project", "--name", "Shop", "--owner", "Boss@Example.com", "--currency", "eur"
    )
    assert len(lines) == 1 and re.fullmatch(r"proj_\w{24}", lines[0])
    project = Project.objects.get(public_id=lines[0])
    assert project.currency == "EUR"
    owner = Membership.objects.get(project=project)
    assert (owner.user.email, owner.role) == ("boss@example.com", Role.OWNER)
    assert not owner.user.has_usable_password()


def test_create_project_rejects_bad_input():
    with pytest.raises(CommandError, match="Unknown currency"):
        run("create_project", "--name", "S", "--owner", "a@example.com", "--currency", "ZZZ")
    with pytest.raises(CommandError, match="email"):
        run("create_project", "--name", "S", "--owner", "nobody")
    assert not Project.objects.exists()


def test_create_api_key_prints_exactly_two_working_header_lines():
    project_id = run("create_project", "--name", "Shop", "--owner", "a@example.com")[0]
    lines = run("create_api_key", "--project", "Shop")
    assert [line.split(": ")[0] for line in lines] == ["X-App-Id", "X-App-Token"]
    app_id, token = (line.split(": ")[1] for line in lines)
    api_key = api_key_verify(app_id=app_id, token=token, kind="server")
    assert api_key.project.public_id == project_id

    lines = run(
        "create_api_key", "--project", project_id, "--client", "--origin", "https://Shop.io/"
    )
    assert [line.split(": ")[0] for line in lines] == ["X-Client-Application-Id", "X-Client-Token"]
    client_key = ApiKey.objects.get(app_id=lines[0].split(": ")[1])
    assert (client_key.kind, client_key.allowed_origins) == ("client", ["https://shop.io"])


def test_create_api_key_errors():
    with pytest.raises(CommandError, match="No project"):
        run("create_api_key", "--project", "missing")
    run("create_project", "--name", "Twin", "--owner", "a@example.com")
    run("create_project", "--name", "Twin", "--owner", "b@example.com")
    with pytest.raises(CommandError, match="Several projects"):
        run("create_api_key", "--project", "Twin")
    with pytest.raises(CommandError, match="--client"):
        run(
            "create_api_key",
            "--project",
            Project.objects.first().public_id,
            "--origin",
            "https://x.io",
        )


def test_seed_demo_is_idempotent_and_prints_a_working_login_and_key(client):
    models = (Project, Membership, ApiKey, Customer, CustomEvent, Product, Sku, Order, OrderEvent)
    first = run("seed_demo")
    counts = [model.objects.count() for model in models]
    second = run("seed_demo")
    assert [model.objects.count() for model in models] == counts
    assert counts[3:] >= [300, 100, 12, 10, 400, 400]
    assert Customer.objects.filter(orders_total_count__gt=0).exists()
    assert first == second
    headers = [line for line in first if line.startswith("X-App-")]
    app_id, token = (line.split(": ")[1] for line in headers)
    assert api_key_verify(app_id=app_id, token=token, kind="server") is not None
    login = next(line for line in first if line.startswith("Login: "))
    email, password = login.removeprefix("Login: ").split("   ")[0].split(" / ")
    assert client.login(username=email, password=password)
    assert client.get("/").status_code == 200
