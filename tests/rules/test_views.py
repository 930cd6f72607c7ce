"""The validation-rule screens: list, builder, a rule's page, assignments, delete, and the
"rules in words" sections of campaign, voucher and tier pages."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from apps.projects.models import Role
from apps.rules.models import RuleAssignment, ValidationRule
from apps.rules.services import assignment_create, rule_create
from tests.campaigns.factories import (
    CampaignFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.products.factories import ProductFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory
from tests.rules.test_builder import every_kind
from tests.segments.factories import SegmentFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


class FormFields(HTMLParser):
    """The fields a browser would submit from the form with id `form_id` (no button)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._multiple = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "search"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select, self._multiple, self._chosen, self._first = (
                name,
                "multiple" in attrs,
                [],
                None,
            )
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._first is None and "disabled" not in attrs:
                self._first = value
            if "selected" in attrs:
                self._chosen.append(value)
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = self._chosen or (
                [] if self._multiple or self._first is None else [self._first]
            )
            self.fields += [(self._select, value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def form_fields(html: str, form_id: str = "rule-form") -> dict[str, list[str]]:
    parser = FormFields(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def builder_post(**fields) -> dict:
    """A builder form as the browser sends it (see rules/_row.html for the names)."""
    return {"name": "Big baskets", "error_message": "", "logic": "", **fields}


# --- the list --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_rules_in_words_with_assignments_and_searches(
    member_client, project, django_assert_max_num_queries
):
    segment = SegmentFactory(project=project, name="VIPs")
    vip = ValidationRuleFactory(
        project=project,
        name="VIP only",
        rules={"1": {"name": "customer.segment", "conditions": {"$is": [segment.public_id]}}},
    )
    ValidationRuleFactory(project=project, name="Big orders")
    ValidationRuleFactory(name="Other project rule")
    RuleAssignmentFactory(rule=vip, campaign=CampaignFactory(project=project))
    client = member_client(Role.VIEWER)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("rules:list"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "VIP only" in content and "Big orders" in content
    assert "customer is in segment VIPs" in content  # the segment's name, not its id
    assert "order amount is at least $100.00" in content
    assert "1 object" in content and "0 objects" in content
    assert "Other project rule" not in content
    assert "New rule" not in content  # viewers read only

    found = client.get(reverse("rules:list"), {"q": "vip"}, **HTMX).content.decode()
    assert "<html" not in found and 'id="rule-results"' in found
    assert "VIP only" in found and "Big orders" not in found


# --- the builder -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_rule_form_starts_with_one_condition(member_client):
    response = member_client(Role.MARKETER).get(reverse("rules:create"))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('data-testid="row"') == 1
    assert 'name="c-1-name"' in content and 'value="order.amount" selected' in content
    assert '<optgroup label="Custom event">' in content


@pytest.mark.django_db
def test_create_a_rule_through_the_builder(member_client, project):
    segment = SegmentFactory(project=project, name="Regulars")
    client = member_client(Role.MARKETER)
    data = builder_post(
        row=["1", "2"],
        logic="1 or 2",
        error_message="Not for this cart",
        **{
            "c-1-name": "order.amount",
            "c-1-kind": "money",
            "c-1-op": "$more_than_or_equal",
            "c-1-v0": "100.00",
            "c-1-error": "Spend 100 first",
            "c-2-name": "customer.segment",
            "c-2-kind": "segment",
            "c-2-op": "$in",
            "c-2-v0": [segment.public_id],
            "_action": "save",
        },
    )

    response = client.post(reverse("rules:create"), data)

    rule = ValidationRule.objects.get(project=project, name="Big baskets")
    assert response.status_code == 302
    assert response["Location"] == reverse("rules:detail", args=[rule.public_id])
    assert rule.rules == {
        "1": {
            "name": "order.amount",
            "conditions": {"$more_than_or_equal": [10000]},
            "error": {"message": "Spend 100 first"},
        },
        "2": {"name": "customer.segment", "conditions": {"$in": [segment.public_id]}},
        "logic": "1 or 2",
    }
    assert rule.error_message == "Not for this cart"
    page = client.get(response["Location"]).content.decode()
    assert "order amount is at least $100.00" in page
    assert "customer is in segment Regulars" in page


@pytest.mark.django_db
def test_editing_a_rule_and_saving_it_unchanged_keeps_its_json(member_client, project):
    # given a stored rule with every kind of condition
    rules, applicable = every_kind(project)
    rule = rule_create(
        project=project,
        payload={"name": "Everything", "rules": rules, "applicable_to": applicable},
    )
    client = member_client(Role.MARKETER)

    # when the edit page is opened and its form submitted as the browser would
    page = client.get(reverse("rules:edit", args=[rule.public_id]))
    data = form_fields(page.content.decode())
    data["_action"] = ["save"]
    response = client.post(reverse("rules:edit", args=[rule.public_id]), data)

    # then the rule is saved exactly as it was
    assert response.status_code == 302, response.content.decode()[:3000]
    rule.refresh_from_db()
    assert rule.rules == rules
    assert rule.applicable_to == applicable
    assert rule.name == "Everything"


@pytest.mark.django_db
def test_invalid_logic_re_renders_the_form_with_the_message(member_client, project):
    client = member_client(Role.MARKETER)
    data = builder_post(
        row=["1"],
        logic="1 and 2",
        **{"c-1-name": "order.amount", "c-1-op": "$is", "c-1-v0": "5", "_action": "save"},
    )

    response = client.post(reverse("rules:create"), data)

    content = response.content.decode()
    assert response.status_code == 200
    assert "there is no rule 2 (at character 7)" in content
    assert 'value="Big baskets"' in content  # nothing typed is lost
    assert not ValidationRule.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_an_invalid_value_is_shown_on_its_row(member_client, project):
    client = member_client(Role.MARKETER)
    data = builder_post(
        row=["1", "2"],
        **{
            "c-1-name": "order.amount",
            "c-1-op": "$is",
            "c-1-v0": "5",
            "c-2-name": "order.amount",
            "c-2-op": "$more_than",
            "c-2-v0": "lots",
            "_action": "save",
        },
    )

    content = client.post(reverse("rules:create"), data).content.decode()

    row_two = content[content.index('id="row-2"') :]
    assert "“lots” is not an amount" in row_two[: row_two.index('id="err-2"') + 200]
    assert "“lots”" not in content[: content.index('id="row-2"')]
    assert not ValidationRule.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_a_service_error_is_shown_on_the_row_it_names(member_client, project):
    elsewhere = SegmentFactory(name="Another project's segment")
    client = member_client(Role.MARKETER)
    data = builder_post(
        row=["1", "2"],
        **{
            "c-1-name": "order.amount",
            "c-1-op": "$is",
            "c-1-v0": "5",
            "c-2-name": "customer.segment",
            "c-2-op": "$is",
            "c-2-v0": elsewhere.public_id,
            "_action": "save",
        },
    )

    content = client.post(reverse("rules:create"), data).content.decode()

    error = content.index(f"There is no segment {elsewhere.public_id} in this project.")
    assert content.index('id="row-2"') < error < content.index('id="err-2"') + 200
    assert not ValidationRule.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_a_taken_name_is_shown_on_the_name_field(member_client, project):
    ValidationRuleFactory(project=project, name="Big baskets")
    data = builder_post(
        row=["1"], **{"c-1-name": "order.amount", "c-1-op": "$is", "c-1-v0": "5", "_action": "save"}
    )

    content = member_client(Role.MARKETER).post(reverse("rules:create"), data).content.decode()

    assert "already exists" in content
    assert ValidationRule.objects.filter(project=project).count() == 1


@pytest.mark.django_db
def test_builder_actions_return_the_builder_partial(member_client):
    client = member_client(Role.MARKETER)
    data = builder_post(
        row=["1"], **{"c-1-name": "order.amount", "c-1-op": "$is", "c-1-v0": "5", "_action": "add"}
    )

    response = client.post(reverse("rules:create"), data, **HTMX)

    content = response.content.decode()
    assert "<html" not in content and content.lstrip().startswith('<div id="rule-builder"')
    assert content.count('data-testid="row"') == 2
    assert 'value="1 and 2"' in content
    assert 'name="c-1-v0" value="5"' in content  # what was typed stays
    assert response["HX-Trigger-After-Settle"] == "builder-changed"

    # choosing an items name offers the product picker and sub-rows
    data.update({"c-1-name": "product.id", "_action": "refresh"})
    content = client.post(reverse("rules:create"), data, **HTMX).content.decode()
    assert 'data-testid="item-picker"' in content and 'data-testid="add-sub"' in content


@pytest.mark.django_db
def test_the_preview_shows_words_json_and_row_errors(member_client, project):
    client = member_client(Role.MARKETER)
    data = builder_post(
        row=["1", "2"],
        logic="1 or",
        **{
            "c-1-name": "order.amount",
            "c-1-op": "$more_than_or_equal",
            "c-1-v0": "100",
            "c-2-name": "order.items.count",
            "c-2-op": "$is",
            "c-2-v0": "two",
        },
    )

    content = client.post(reverse("rules:preview"), data, **HTMX).content.decode()

    assert "order amount is at least $100.00" in content
    assert "&quot;$more_than_or_equal&quot;: [\n" in content  # the JSON, out of band
    assert 'id="err-2" hx-swap-oob="true"' in content and "“two” is not a number" in content
    assert "the logic ends too early" in content


@pytest.mark.django_db
def test_the_logic_is_checked_as_it_is_typed(member_client):
    client = member_client(Role.VIEWER)
    url = reverse("rules:logic")

    fine = client.get(url, {"logic": "(1 and 2) or 3", "row": ["1", "2", "3", "3.1"]}, **HTMX)
    broken = client.get(url, {"logic": "1 and or 2", "row": ["1", "2"]}, **HTMX)

    assert "OK" in fine.content.decode()
    assert "expected a rule number, not “or” (at character 7)" in broken.content.decode()


@pytest.mark.django_db
def test_the_item_picker_searches_the_projects_catalogue(member_client, project):
    shoe = ProductFactory(project=project, name="Running shoe")
    kept = ProductFactory(project=project, name="Hat")
    ProductFactory(name="Running shoe of another project")
    client = member_client(Role.MARKETER)

    response = client.get(
        reverse("rules:targets"),
        {
            "field": "c-2-v0",
            "dom": "values-2-0",
            "q": "running",
            "c-2-v0": f"product:{kept.public_id}",
        },
        **HTMX,
    )

    content = response.content.decode()
    assert f'value="product:{shoe.public_id}"' in content
    assert f'value="product:{kept.public_id}" selected' in content  # the choice stays
    assert "another project" not in content
    assert 'id="values-2-0" name="c-2-v0" multiple' in content


# --- a rule's page, assignments, delete ------------------------------------------------------


@pytest.mark.django_db
def test_rule_page_shows_words_json_and_assignments(member_client, project):
    rule = ValidationRuleFactory(project=project, name="Big orders", error_message="Spend more")
    campaign = CampaignFactory(project=project, name="Spring sale")
    RuleAssignmentFactory(rule=rule, campaign=campaign)

    content = member_client(Role.VIEWER).get(reverse("rules:detail", args=[rule.public_id]))
    content = content.content.decode()

    assert "order amount is at least $100.00" in content
    assert "&quot;$more_than_or_equal&quot;: [" in content
    assert "Spring sale" in content and "Spend more" in content
    assert "Assign to" not in content and "Remove" not in content  # viewers read only


@pytest.mark.django_db
def test_assign_to_a_campaign_a_voucher_code_and_a_tier_then_unassign(member_client, project):
    rule = ValidationRuleFactory(project=project)
    campaign = CampaignFactory(project=project, name="Spring sale")
    voucher = VoucherFactory(campaign__project=project, code="SPRING-10", code_key="SPRING-10")
    tier = PromotionTierFactory(campaign__project=project, name="Ten off")
    client = member_client(Role.MARKETER)
    url = reverse("rules:assign", args=[rule.public_id])

    response = client.post(
        url, {"related_object_type": "campaign", "related_object_id": campaign.public_id}, **HTMX
    )
    assert 'id="rule-assignments"' in response.content.decode()
    assert "now applies to the campaign “Spring sale”" in response.content.decode()
    client.post(url, {"related_object_type": "voucher", "related_object_id": "spring-10"})
    client.post(url, {"related_object_type": "promotion_tier", "related_object_id": tier.public_id})

    assert {a.related_object for a in rule.assignments.all()} == {campaign, voucher, tier}

    # a code that does not exist, and the same campaign twice, are explained
    missing = client.post(
        url, {"related_object_type": "voucher", "related_object_id": "NOPE"}, **HTMX
    )
    assert "There is no voucher with the code “NOPE” in this project." in missing.content.decode()
    twice = client.post(
        url, {"related_object_type": "campaign", "related_object_id": campaign.public_id}, **HTMX
    )
    assert "already assigned" in twice.content.decode()
    assert rule.assignments.count() == 3

    # remove the campaign's
    assignment = rule.assignments.get(campaign=campaign)
    gone = client.post(
        reverse("rules:unassign", args=[rule.public_id, assignment.public_id]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="rule-assignments",
    )
    assert gone.status_code == 200 and "no longer applies" in gone.content.decode()
    assert rule.assignments.count() == 2


@pytest.mark.django_db
def test_delete_asks_then_removes_the_rule_and_its_assignments(member_client, project):
    rule = ValidationRuleFactory(project=project, name="Old rule")
    RuleAssignmentFactory(rule=rule, campaign=CampaignFactory(project=project, name="Spring"))
    client = member_client(Role.MARKETER)
    url = reverse("rules:delete", args=[rule.public_id])

    asked = client.get(url).content.decode()
    assert "Delete the validation rule “Old rule”?" in asked and "Spring" in asked
    response = client.post(url)

    assert response.status_code == 302 and response["Location"] == reverse("rules:list")
    assert not ValidationRule.objects.filter(pk=rule.pk).exists()
    assert not RuleAssignment.objects.filter(rule_id=rule.pk).exists()


# --- projects and roles --------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_projects_rules_and_objects_are_404(member_client, project):
    other = ProjectFactory()
    rule = ValidationRuleFactory(project=other)
    assignment = RuleAssignmentFactory(rule=rule, campaign=CampaignFactory(project=other))
    mine = ValidationRuleFactory(project=project)
    client = member_client(Role.OWNER)

    for name in ("detail", "edit", "delete"):
        assert client.get(reverse(f"rules:{name}", args=[rule.public_id])).status_code == 404
    assert client.post(reverse("rules:delete", args=[rule.public_id])).status_code == 404
    assert client.post(reverse("rules:assign", args=[rule.public_id])).status_code == 404
    unassign = reverse("rules:unassign", args=[rule.public_id, assignment.public_id])
    assert client.post(unassign).status_code == 404
    # my rule cannot be attached to another project's campaign, nor remove its assignment
    assigned = client.post(
        reverse("rules:assign", args=[mine.public_id]),
        {"related_object_type": "campaign", "related_object_id": assignment.campaign.public_id},
    )
    assert assigned.status_code == 302 and not mine.assignments.exists()
    foreign = reverse("rules:unassign", args=[mine.public_id, assignment.public_id])
    assert client.post(foreign).status_code == 404
    section = reverse("rules:for_campaign", args=[assignment.campaign.public_id])
    assert client.get(section, **HTMX).status_code == 404
    assert (
        ValidationRule.objects.filter(pk=rule.pk).exists()
        and RuleAssignment.objects.filter(pk=assignment.pk).exists()
    )


@pytest.mark.django_db
def test_viewers_read_but_cannot_write(member_client, project):
    rule = ValidationRuleFactory(project=project)
    campaign = CampaignFactory(project=project)
    assignment = RuleAssignmentFactory(rule=rule, campaign=campaign)
    client = member_client(Role.VIEWER)

    assert client.get(reverse("rules:list")).status_code == 200
    assert client.get(reverse("rules:detail", args=[rule.public_id])).status_code == 200
    assert client.get(reverse("rules:create")).status_code == 403
    assert client.get(reverse("rules:edit", args=[rule.public_id])).status_code == 403
    data = builder_post(
        row=["1"], **{"c-1-name": "order.amount", "c-1-op": "$is", "c-1-v0": "5", "_action": "save"}
    )
    assert client.post(reverse("rules:create"), data).status_code == 403
    assert client.post(reverse("rules:preview"), data).status_code == 403
    assert (
        client.post(
            reverse("rules:assign", args=[rule.public_id]),
            {"related_object_type": "campaign", "related_object_id": campaign.public_id},
        ).status_code
        == 403
    )
    unassign = reverse("rules:unassign", args=[rule.public_id, assignment.public_id])
    assert client.post(unassign).status_code == 403
    assert client.post(reverse("rules:delete", args=[rule.public_id])).status_code == 403
    section = reverse("rules:for_campaign", args=[campaign.public_id])
    assert client.post(section, {"rule": rule.public_id}).status_code == 403
    assert ValidationRule.objects.filter(project=project).count() == 1
    assert RuleAssignment.objects.filter(pk=assignment.pk).exists()


# --- rules in words on campaign, voucher and tier pages -----------------------------------------


@pytest.mark.django_db
def test_campaign_page_loads_its_rules_in_words(member_client, project):
    campaign = CampaignFactory(project=project, name="Spring sale")
    rule = ValidationRuleFactory(project=project, name="Big orders")
    assignment_create(rule=rule, target=campaign)
    client = member_client(Role.VIEWER)

    page = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    section_url = reverse("rules:for_campaign", args=[campaign.public_id])
    assert f'hx-get="{section_url}"' in page

    section = client.get(section_url, **HTMX).content.decode()
    assert "<html" not in section
    assert "Big orders" in section and "order amount is at least $100.00" in section
    # opened directly, the address goes to the campaign's page
    assert client.get(section_url)["Location"] == reverse(
        "campaigns:detail", args=[campaign.public_id]
    )


@pytest.mark.django_db
def test_voucher_and_tier_sections_show_their_own_and_their_campaigns_rules(member_client, project):
    voucher = VoucherFactory(campaign__project=project, campaign__name="Codes campaign")
    tier = PromotionTierFactory(campaign__project=project, campaign__name="Promo", name="Ten off")
    own = ValidationRuleFactory(project=project, name="Voucher rule")
    inherited = ValidationRuleFactory(project=project, name="Campaign rule")
    tier_rule = ValidationRuleFactory(project=project, name="Tier rule")
    assignment_create(rule=own, target=voucher)
    assignment_create(rule=inherited, target=voucher.campaign)
    assignment_create(rule=tier_rule, target=tier)
    client = member_client(Role.MARKETER)

    voucher_page = client.get(reverse("campaigns:voucher_detail", args=[voucher.public_id]))
    assert reverse("rules:for_voucher", args=[voucher.public_id]) in voucher_page.content.decode()
    section = client.get(reverse("rules:for_voucher", args=[voucher.public_id]), **HTMX)
    section = section.content.decode()
    assert "Voucher rule" in section
    assert "From the campaign “Codes campaign”" in section and "Campaign rule" in section

    tier_page = client.get(reverse("campaigns:tier_edit", args=[tier.public_id])).content.decode()
    assert reverse("rules:for_tier", args=[tier.public_id]) in tier_page
    assert (
        "Tier rule"
        in client.get(reverse("rules:for_tier", args=[tier.public_id]), **HTMX).content.decode()
    )
    # the promotion's page lists its tiers' rules
    promotion = client.get(reverse("rules:for_campaign", args=[tier.campaign.public_id]), **HTMX)
    assert "Tier “Ten off”" in promotion.content.decode()
    assert "Tier rule" in promotion.content.decode()


@pytest.mark.django_db
def test_a_rule_is_assigned_and_removed_from_the_campaign_section(member_client, project):
    campaign = CampaignFactory(project=project)
    rule = ValidationRuleFactory(project=project, name="Big orders")
    client = member_client(Role.MARKETER)
    url = reverse("rules:for_campaign", args=[campaign.public_id])

    response = client.post(url, {"rule": rule.public_id}, **HTMX)

    assert "“Big orders” now applies here." in response.content.decode()
    assignment = RuleAssignment.objects.get(rule=rule, campaign=campaign)
    removed = client.post(
        reverse("rules:unassign", args=[rule.public_id, assignment.public_id]), **HTMX
    )
    assert "rulesChanged" in removed["HX-Trigger"]  # the section reloads itself
    assert not RuleAssignment.objects.filter(pk=assignment.pk).exists()
