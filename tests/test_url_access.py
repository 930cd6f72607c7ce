"""Every dashboard URL: login required, no cross-project access, viewers never write.

The URL list comes from the URL conf, so a new URL is covered the moment it is added; a URL with a
parameter this file does not know fails loudly until an object of that kind is added to `objects`.
"""

import pytest
from django.urls import reverse

from apps.distributions.models import Delivery
from apps.jobs.models import Job
from apps.projects.models import Role
from apps.projects.services import api_key_create, invitation_create
from apps.redemptions.services import redemption_redeem
from apps.webhooks.services import deliveries_create, webhook_create
from tests.campaigns.factories import (
    CampaignFactory,
    CampaignTemplateFactory,
    CategoryFactory,
    PromotionStackFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.distributions.factories import DistributionFactory
from tests.imports.factories import ImportFactory
from tests.jobs.factories import JobFactory
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductCollectionFactory, ProductFactory, SkuFactory
from tests.projects.factories import MembershipFactory, ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory
from tests.segments.factories import SegmentFactory
from tests.urlcrawl import all_routes

PUBLIC = {
    "login",
    "healthz",
    "invitation_accept",
    # QR code / barcode images: members, signed links or public projects (checked inside)
    "campaigns:voucher_qr",
    "campaigns:voucher_barcode",
    # a signed link in every distribution message: the token is the credential
    "distributions:unsubscribe",
}
# URL parameters that name a kind of thing, not an object of one project.
NON_OBJECT_KWARGS = {"resource", "fmt"}
# Logged-in views that are not about the current project's data.
NOT_PROJECT_SCOPED = {
    "logout",
    "password_change",
    "password_change_done",
    "projects:create",
    "projects:switch",
}


def objects(project) -> dict[str, str]:
    """One object of each kind in `project`, keyed by the URL parameter that names it."""
    owner = MembershipFactory(project=project, role=Role.OWNER)
    other = MembershipFactory(project=project, role=Role.MARKETER)
    invitation, token = invitation_create(
        project=project, email=f"guest@{project.public_id.lower()}.test", role=Role.VIEWER, by=owner
    )
    api_key, _ = api_key_create(project=project, name="key")
    job = JobFactory(project=project)
    product = ProductFactory(project=project)
    sku = SkuFactory(product=product)
    collection = ProductCollectionFactory(project=project)
    order = OrderFactory(customer__project=project)
    customer = CustomerFactory(project=project)
    voucher = VoucherFactory(campaign__project=project)
    rule = ValidationRuleFactory(project=project)
    redeemed = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": voucher.code}],
            "order": {"amount": 1000},
        },
    )
    return {
        "project_id": project.public_id,
        "member_id": other.public_id,
        "invitation_id": invitation.public_id,
        "key_id": api_key.public_id,
        "job_id": job.public_id,
        "import_id": ImportFactory(project=project).public_id,
        "product_id": product.public_id,
        "sku_id": sku.public_id,
        "collection_id": collection.public_id,
        "order_id": order.public_id,
        "token": token,
        "customer_id": customer.public_id,
        "segment_id": SegmentFactory(project=project).public_id,
        "campaign_id": CampaignFactory(project=project).public_id,
        "voucher_id": voucher.public_id,
        "tier_id": PromotionTierFactory(campaign__project=project).public_id,
        "stack_id": PromotionStackFactory(campaign__project=project).public_id,
        "category_id": CategoryFactory(project=project).public_id,
        "template_id": CampaignTemplateFactory(project=project).public_id,
        "redemption_id": redeemed.parent.public_id,
        "rule_id": rule.public_id,
        "assignment_id": RuleAssignmentFactory(rule=rule, campaign=voucher.campaign).public_id,
        **_webhook(project),
        **_distribution(project),
        # not objects: the same value in every project (pages list the current project's data)
        "resource": "customer",
        "fmt": "svg",
    }


def _webhook(project) -> dict[str, str]:
    webhook = webhook_create(project=project, url="http://127.0.0.1:9/hook")
    [delivery_id] = deliveries_create(
        project=project, webhooks=[webhook], event_type="order.paid", data={}
    )
    return {"webhook_id": webhook.public_id, "delivery_id": str(delivery_id)}


def _distribution(project) -> dict[str, str]:
    distribution = DistributionFactory(project=project)
    delivery = Delivery.objects.create(
        project=project,
        distribution=distribution,
        customer=CustomerFactory(project=project),
        channel="email",
        status="FAILED",
    )
    return {"distribution_id": distribution.public_id, "message_id": str(delivery.pk)}


def url_for(route, values: dict[str, str]) -> str:
    missing = [k for k in route.kwargs if k not in values]
    assert not missing, f"{route.name}: add an object for URL parameter(s) {missing} to objects()"
    return reverse(route.name, kwargs={k: values[k] for k in route.kwargs})


def test_public_urls_are_exactly_the_expected_ones():
    public = {route.name for route in all_routes() if route.is_public}
    assert public == PUBLIC


def test_every_project_view_checks_membership():
    unguarded = [
        route.name
        for route in all_routes()
        if not route.is_public and route.name not in NOT_PROJECT_SCOPED and route.roles is None
    ]
    assert unguarded == [], "decorate these views with @member_required"


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login_everywhere(client):
    values = objects(ProjectFactory())
    for route in all_routes():
        if route.is_public:
            continue
        url = url_for(route, values)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {url} -> {response.status_code}"
            assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
def test_no_url_shows_or_changes_another_projects_objects(member_client):
    # given an owner of project A, and objects of project B
    project_b = ProjectFactory(name="Project B secret name")
    values_b = objects(project_b)
    client = member_client(Role.OWNER)
    jobs_before = Job.objects.count()
    crawled = 0
    for route in all_routes():
        if route.is_public:
            continue
        if not set(route.kwargs) - NON_OBJECT_KWARGS:
            # pages without object ids must not mention project B at all
            response = client.get(url_for(route, values_b))
            assert response.status_code in (200, 302, 405), route.name
            assert b"Project B secret name" not in response.content, route.name
            continue
        url = url_for(route, values_b)
        got, posted = client.get(url), client.post(url, {"role": Role.VIEWER})
        assert got.status_code in (404, 405), f"GET {url} -> {got.status_code}"
        assert posted.status_code == 404, f"POST {url} -> {posted.status_code}"
        crawled += 1
    # then nothing of B changed and the crawl really visited the id URLs
    assert crawled >= 7
    assert project_b.memberships.count() == 2
    assert project_b.invitations.count() == 1
    assert project_b.api_keys.filter(revoked_at__isnull=True).count() == 1
    assert Job.objects.count() == jobs_before


@pytest.mark.django_db
def test_viewers_cannot_write_anywhere(member_client, project):
    values = objects(project)
    client = member_client(Role.VIEWER)
    checked = 0
    for route in all_routes():
        if route.is_public or route.roles is None:
            continue
        url = url_for(route, values)
        response = client.post(
            url, {"role": Role.OWNER, "name": "Hacked", "email": "x@example.com"}
        )
        assert response.status_code in (403, 405), f"POST {url} -> {response.status_code}"
        checked += 1
    project.refresh_from_db()
    assert project.name == "Acme Shop"
    assert not project.memberships.filter(role=Role.OWNER, user__email="x@example.com").exists()
    assert checked >= 8
