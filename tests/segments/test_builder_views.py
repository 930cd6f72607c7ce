"""The segment form: the builder as rendered HTML, posted back as a browser would, and the live
preview."""

import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from apps.segments.models import Segment, SegmentMember
from tests.customers.factories import CustomerFactory
from tests.segments.test_builder import NESTED, SEED_EVERYTHING

pytestmark = pytest.mark.django_db


class FormFields(HTMLParser):
    """The successful controls of the form with id `form_id`, as a browser would submit them
    (hidden inputs, text inputs, checked boxes and radios, selected options, textareas)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._options: list[tuple[str, bool]] = []
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and "name" in a and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind == "submit":
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and "name" in a:
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and "name" in a:
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            chosen = [value for value, selected in self._options if selected] or [
                self._options[0][0]
            ]
            self.fields.append((self._select, chosen[0]))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self.inside = False


def form_fields(response, form_id="segment-form") -> dict:
    parser = FormFields(form_id)
    parser.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


@pytest.mark.parametrize("filter_json", [SEED_EVERYTHING, NESTED])
def test_saving_the_edit_form_unchanged_keeps_the_filter_exactly(
    owner_client, project, filter_json
):
    client = owner_client
    segment = Segment.objects.create(
        project=project, name="Seed", type="auto-update", filter=filter_json
    )
    page = client.get(reverse("segments:edit", args=[segment.public_id]))
    assert page.status_code == 200
    data = form_fields(page)
    data["_action"] = ["save"]
    response = client.post(reverse("segments:edit", args=[segment.public_id]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    segment.refresh_from_db()
    assert segment.filter == filter_json


def test_creating_an_auto_update_segment_from_the_builder(
    owner_client, project, django_capture_on_commit_callbacks
):
    CustomerFactory(project=project, address_city="Berlin", source_id="berliner")
    CustomerFactory(project=project, address_city="Paris")
    page = owner_client.get(reverse("segments:create"))
    data = form_fields(page)
    assert data["c-0.0-field"] == ["address.city"]  # one condition to start from
    data.update({"name": ["Berliners"], "c-0.0-value": ["Berlin"], "_action": ["save"]})
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("segments:create"), data)
    segment = Segment.objects.get(project=project, name="Berliners")
    assert response.status_code == 302
    assert response["Location"] == reverse("segments:detail", args=[segment.public_id])
    assert segment.filter == {
        "junction": "and",
        "address.city": {"conditions": {"$is": ["Berlin"]}},
    }
    assert list(
        SegmentMember.objects.filter(segment=segment).values_list("customer__source_id", flat=True)
    ) == ["berliner"]


def test_builder_actions_return_the_builder_and_ask_for_a_new_preview(owner_client):
    page = owner_client.get(reverse("segments:create"))
    data = form_fields(page)
    data["_action"] = ["add-g:0"]
    response = owner_client.post(reverse("segments:create"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response["HX-Trigger-After-Settle"] == "builder-changed"
    assert html.lstrip().startswith('<div id="segment-definition">')
    assert html.count('data-testid="condition"') == 2
    assert html.count('name="node" value="0.1:g"') == 1
    # a field change offers that field's operators
    data.update({"_action": ["refresh"], "c-0.0-field": ["birthdate"], "c-0.0-op": ["$contains"]})
    html = owner_client.post(
        reverse("segments:create"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="$this_month"' in html and 'value="$contains"' not in html


def test_invalid_rows_and_bad_json_re_render_without_losing_input(owner_client, project):
    data = form_fields(owner_client.get(reverse("segments:create")))
    data.update(
        {
            "name": ["Spenders"],
            "c-0.0-field": ["summary.orders.total_count"],
            "c-0.0-op": ["$more_than"],
            "c-0.0-value": ["lots"],
            "_action": ["save"],
        }
    )
    response = owner_client.post(reverse("segments:create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Orders is more than: “lots” is not a number" in html
    assert 'value="Spenders"' in html and 'value="lots"' in html
    assert not Segment.objects.filter(project=project).exists()
    data.update({"_action": ["json"], "filter_json": ['{"junction": "and", "nope": 1']})
    html = owner_client.post(reverse("segments:create"), data).content.decode()
    assert "The JSON could not be loaded" in html
    assert "{&quot;junction&quot;: &quot;and&quot;, &quot;nope&quot;: 1" in html  # kept to fix


def test_loading_json_fills_the_builder(owner_client):
    data = form_fields(owner_client.get(reverse("segments:create")))
    pasted = {
        "junction": "or",
        "email": {"conditions": {"$ends_with": [".de"]}},
        "group_1": {"junction": "and", "birthdate": {"conditions": {"$today": [True]}}},
    }
    data.update({"_action": ["json"], "filter_json": [json.dumps(pasted)]})
    html = owner_client.post(reverse("segments:create"), data).content.decode()
    assert 'name="c-0.0-field"' in html and 'name="c-0.1.0-field"' in html
    assert 'value=".de"' in html
    assert '<option value="or" selected>' in html


def test_a_static_segment_from_pasted_ids_reports_the_unknown_ones(owner_client, project):
    a = CustomerFactory(project=project, source_id="a")
    b = CustomerFactory(project=project, source_id="b")
    CustomerFactory(source_id="elsewhere")  # another project's customer is unknown here
    response = owner_client.post(
        reverse("segments:create"),
        {
            "name": "VIP",
            "type": "static",
            "customers": f"a, {b.public_id}\nelsewhere\nzz",
            "_action": "save",
        },
        follow=True,
    )
    segment = Segment.objects.get(project=project, name="VIP")
    assert set(
        SegmentMember.objects.filter(segment=segment).values_list("customer", flat=True)
    ) == {a.pk, b.pk}
    assert "Not found, so not added: elsewhere, zz." in response.content.decode()


def test_preview_counts_this_projects_matches_and_marks_bad_rows(owner_client, project):
    for i in range(12):
        CustomerFactory(project=project, address_city="Berlin", name=f"Berliner {i:02}")
    CustomerFactory(address_city="Berlin")  # another project
    data = form_fields(owner_client.get(reverse("segments:create")))
    data["c-0.0-value"] = ["Berlin"]
    html = owner_client.post(reverse("segments:preview"), data).content.decode()
    assert 'data-testid="preview-count">12<' in html
    assert html.count("Berliner ") == 10 and "and 2 more" in html
    assert "City is “Berlin”" in html
    assert 'id="filter-json-view" data-testid="filter-json-view" hx-swap-oob="true">{' in html
    data.update(
        {"c-0.0-field": ["created_at"], "c-0.0-op": ["$less_than_ago"], "c-0.0-value": ["x"]}
    )
    html = owner_client.post(reverse("segments:preview"), data).content.decode()
    assert 'data-testid="preview-error"' in html
    assert 'id="err-0-0" hx-swap-oob="true"' in html and "whole number of days" in html
