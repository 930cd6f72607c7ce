import re

import pytest
from django.http import Http404

from apps.core.csv import safe_cell, safe_row
from apps.core.errors import ApplicationError
from apps.core.models import make_public_id
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Membership, Project
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Alice", "Alice"),
        ("", ""),
        (-1250, -1250),
        (3.5, 3.5),
        (None, None),
        (True, True),
    ],
)
def test_safe_cell_neutralises_formulas(value, expected):
    assert safe_cell(value) == expected


def test_safe_row():
    assert safe_row(["=1", 2, "x"]) == ["'=1", 2, "x"]


def test_public_ids_are_prefixed_random_and_unique():
    ids = {make_public_id("cust") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"cust_[A-Za-z0-9]{24}", value) for value in ids)


@pytest.mark.django_db
def test_models_get_their_public_id_on_creation():
    project = ProjectFactory()
    assert project.public_id.startswith("proj_")
    assert Project.objects.get(public_id=project.public_id) == project


@pytest.mark.django_db
def test_get_for_project_or_404_hides_other_projects():
    mine, theirs = MembershipFactory(), MembershipFactory()
    assert get_for_project_or_404(Membership, mine.project, public_id=mine.public_id) == mine
    with pytest.raises(Http404):
        get_for_project_or_404(Membership, mine.project, public_id=theirs.public_id)
    with pytest.raises(Http404):
        get_for_project_or_404(Membership, None, public_id=mine.public_id)
    with pytest.raises(Http404):
        get_for_project_or_404(Membership.objects.all(), mine.project, pk="not-a-number")


def test_application_error_shape():
    error = ApplicationError("quantity exceeded", key="quantity_exceeded", details="KY4K")
    assert error.as_dict(request_id="v-1") == {
        "code": 400,
        "key": "quantity_exceeded",
        "message": "quantity exceeded",
        "details": "KY4K",
        "request_id": "v-1",
    }


@pytest.mark.django_db
def test_healthz_and_request_id(client):
    response = client.get("/healthz")
    assert response.json() == {"status": "ok"}
    assert re.fullmatch(r"v-[0-9a-f]{20}", response["X-Request-Id"])


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "status"), [("/no-such-page/", 404)])
def test_error_pages_render_in_the_layout(owner_client, path, status):
    response = owner_client.get(path)
    assert response.status_code == status
    assert b"does not exist in the current project" in response.content


def test_server_error_page_needs_no_context():
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")
