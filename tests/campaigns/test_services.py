"""Campaign, voucher, publication and card services (SQLite and PostgreSQL)."""

import datetime as dt
import re

import pytest

from apps.campaigns import services
from apps.campaigns.models import (
    Campaign,
    CreationStatus,
    PromotionTier,
    Publication,
    Voucher,
    VoucherTransaction,
)
from apps.core.errors import ApplicationError
from apps.jobs.models import Job, JobStatus
from apps.metadata.services import metadata_schema_save
from apps.segments.services import segment_add_members
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory
from tests.segments.factories import SegmentFactory

pytestmark = pytest.mark.django_db

PERCENT = {"type": "PERCENT", "percent_off": 15, "amount_limit": 2000}


def coupons(project, count=10, **extra):
    payload = {
        "name": "Spring",
        "campaign_type": "DISCOUNT_COUPONS",
        "vouchers_count": count,
        "voucher": {
            "type": "DISCOUNT_VOUCHER",
            "discount": PERCENT,
            "code_config": {"pattern": "SPR-####", "charset": "numbers"},
        },
        **extra,
    }
    return services.campaign_create(project=project, payload=payload)


def test_a_few_codes_are_generated_at_once_from_the_template(project):
    campaign = coupons(project, count=25, start_date="2026-12-01T00:00:00Z")
    codes = list(Voucher.objects.filter(campaign=campaign).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 25
    assert all(code.startswith("SPR-") and len(code) == 8 for code in codes)
    voucher = Voucher.objects.filter(campaign=campaign).first()
    assert voucher.discount == {**PERCENT, "effect": "APPLY_TO_ORDER"}
    assert voucher.start_date == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert (campaign.creation_status, campaign.vouchers_count) == (CreationStatus.DONE, 25)


def test_many_codes_are_generated_by_a_job_after_commit(
    project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = coupons(project, count=150)
    campaign.refresh_from_db()
    job = Job.objects.get(project=project, type="campaign.generate")
    assert (job.status, job.processed, job.result) == (
        JobStatus.DONE,
        150,
        {"generated": 150, "codes": 150},
    )
    assert campaign.vouchers_generation_status == CreationStatus.DONE
    assert Voucher.objects.filter(campaign=campaign).count() == 150
    # a second delivery of the same job adds nothing
    assert services.campaign_generate(job_id=job.pk) == {}
    assert Voucher.objects.filter(campaign=campaign).count() == 150


def test_a_resumed_job_generates_only_what_is_missing(project):
    campaign = coupons(project, count=5)
    job = services.campaign_add_vouchers(campaign=campaign, count=20)
    services.generate_codes(campaign, 8)  # a worker died after writing 8 of the 20
    services.campaign_generate(job_id=job.pk)
    assert Voucher.objects.filter(campaign=campaign).count() == 25


def test_collisions_are_drawn_again_until_the_count_is_exact(project):
    # 100 possible codes, 9 wanted: duplicates among random draws are certain to happen
    campaign = services.campaign_create(
        project=project,
        payload={
            "name": "Tiny",
            "vouchers_count": 9,
            "voucher": {"discount": PERCENT, "code_config": {"length": 2, "charset": "numbers"}},
        },
    )
    for _ in range(5):
        services.generate_codes(campaign, 1)
    assert Voucher.objects.filter(campaign=campaign).count() == 14
    assert len(set(Voucher.objects.values_list("code", flat=True))) == 14


def test_impossible_code_configs_are_refused_before_anything_is_written(project):
    with pytest.raises(ApplicationError, match="room for 10,000 codes") as error:
        coupons(project, count=5_000)
    assert error.value.key == "code_config_too_small"
    assert not Campaign.objects.filter(project=project).exists()


def test_each_campaign_type_issues_its_kind_of_voucher(project):
    gift = services.campaign_create(
        project=project,
        payload={
            "name": "Gift",
            "campaign_type": "GIFT_VOUCHERS",
            "vouchers_count": 2,
            "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 5000}},
        },
    )
    card = Voucher.objects.filter(campaign=gift).first()
    assert (card.type, card.gift_amount, card.gift_balance) == ("GIFT_VOUCHER", 5000, 5000)
    opening = VoucherTransaction.objects.get(voucher=card)
    assert (opening.type, opening.amount, opening.balance_after) == ("CREDITS_ADDITION", 5000, 5000)
    loyalty = services.campaign_create(
        project=project,
        payload={"name": "Club", "campaign_type": "LOYALTY_PROGRAM", "vouchers_count": 1},
    )
    assert Voucher.objects.get(campaign=loyalty).loyalty_balance == 0
    referral = services.campaign_create(
        project=project,
        payload={
            "name": "Friends",
            "campaign_type": "REFERRAL_PROGRAM",
            "vouchers_count": 1,
            "voucher": {"discount": {"type": "AMOUNT", "amount_off": 1000}},
        },
    )
    assert Voucher.objects.get(campaign=referral).is_referral_code
    promotion = services.campaign_create(
        project=project,
        payload={
            "name": "Summer sale",
            "campaign_type": "PROMOTION",
            "promotion": {
                "tiers": [
                    {
                        "name": "10% off",
                        "action": {"discount": {"type": "PERCENT", "percent_off": 10}},
                    },
                    {
                        "name": "20% off",
                        "action": {"discount": {"type": "PERCENT", "percent_off": 20}},
                    },
                ]
            },
        },
    )
    assert list(
        PromotionTier.objects.filter(campaign=promotion).values_list("name", "hierarchy")
    ) == [
        ("10% off", 1),
        ("20% off", 2),
    ]
    assert not Voucher.objects.filter(campaign=promotion).exists()
    with pytest.raises(ApplicationError, match="issues GIFT_VOUCHER vouchers"):
        services.campaign_create(
            project=project,
            payload={
                "name": "Bad",
                "campaign_type": "GIFT_VOUCHERS",
                "voucher": {"type": "LOYALTY_CARD"},
            },
        )


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"campaign_type": "LUCKY_DRAW"}, "campaign_type must be one of"),
        ({"voucher": {"discount": {"type": "PERCENT", "percent_off": 120}}}, "percent_off must be"),
        (
            {"voucher": {"discount": {"type": "AMOUNT", "amount_off": 9.5}}},
            "whole number of minor units",
        ),
        ({"voucher": {"discount": PERCENT}, "start_date": "soon"}, "start_date must be a date"),
        (
            {
                "voucher": {"discount": PERCENT},
                "start_date": "2026-02-01T00:00:00Z",
                "expiration_date": "2026-01-01T00:00:00Z",
            },
            "expiration_date must be after start_date",
        ),
        ({"voucher": {"discount": PERCENT}, "validity_day_of_week": [7]}, "from 0 (Sunday) to 6"),
        (
            {"voucher": {"discount": PERCENT}, "activity_duration_after_publishing": "30 days"},
            "ISO 8601 duration",
        ),
        (
            {
                "voucher": {"discount": PERCENT},
                "validity_hours": {"daily": [{"start_time": "18:00", "expiration_time": "09:00"}]},
            },
            "expiration_time must be after start_time",
        ),
    ],
)
def test_invalid_campaigns_are_refused_naming_the_field(project, payload, message):
    with pytest.raises(ApplicationError, match=re.escape(message)):
        services.campaign_create(project=project, payload={"name": "X", **payload})


def test_campaign_metadata_follows_the_schema_and_names_are_unique(project):
    metadata_schema_save(
        project=project,
        resource="campaign",
        properties={"region": {"type": "string", "allowed": ["EU", "US"]}},
        allow_defined_only=False,
    )
    with pytest.raises(ApplicationError, match=r"metadata\.region"):
        coupons(project, count=0, metadata={"region": "Mars"})
    coupons(project, count=0, metadata={"region": "EU"})
    with pytest.raises(ApplicationError, match="A campaign named “Spring” exists"):
        coupons(project, count=0)


def test_deleting_a_campaign_removes_its_codes_ledgers_and_links(project):
    gift = GiftCardFactory(campaign__project=project)
    services.card_adjust(voucher=gift, amount=100, reason="bonus")
    customer = CustomerFactory(project=project)
    services.publication_create(project=project, customer=customer, voucher=gift.code)
    other = VoucherFactory(campaign__project=project)
    services.campaign_delete(campaign=gift.campaign)
    assert list(Voucher.objects.values_list("pk", flat=True)) == [other.pk]
    assert not VoucherTransaction.objects.exists()
    assert Publication.objects.filter(customer=customer).count() == 1  # the record stays


def test_specific_codes_are_unique_ignoring_case_unless_the_project_says_otherwise(project):
    services.voucher_create(project=project, payload={"discount": PERCENT}, code="Welcome10")
    with pytest.raises(ApplicationError, match="A voucher with code WELCOME10 exists"):
        services.voucher_create(project=project, payload={"discount": PERCENT}, code="WELCOME10")
    assert services.resolve_voucher(project, "welcome10").code == "Welcome10"
    strict = ProjectFactory(codes_case_sensitive=True)
    services.voucher_create(project=strict, payload={"discount": PERCENT}, code="Welcome10")
    services.voucher_create(project=strict, payload={"discount": PERCENT}, code="WELCOME10")
    assert services.resolve_voucher(strict, "WELCOME10").code == "WELCOME10"
    with pytest.raises(ApplicationError):
        services.resolve_voucher(strict, "welcome10")


def test_standalone_gift_card_opens_its_ledger(project):
    card = services.voucher_create(
        project=project, payload={"type": "GIFT_VOUCHER", "gift": {"amount": 2500}}, code="GIFT-1"
    )
    assert (card.campaign, card.gift_balance) == (None, 2500)
    assert VoucherTransaction.objects.get(voucher=card).amount == 2500


def test_card_adjustments_keep_the_ledger_equal_to_the_balance(project):
    card = GiftCardFactory(campaign__project=project)
    VoucherTransaction.objects.create(
        project=project, voucher=card, type="CREDITS_ADDITION", amount=5000, balance_after=5000
    )
    services.card_adjust(voucher=card, amount=1500, reason="Apology")
    entry = services.card_adjust(voucher=card, amount=-6000, reason="Refund of an order")
    assert (entry.type, entry.balance_after) == ("CREDITS_REMOVAL", 500)
    with pytest.raises(ApplicationError, match="holds 500 credits; removing 501") as error:
        services.card_adjust(voucher=card, amount=-501, reason="Too much")
    assert error.value.key == "not_enough_balance"
    card.refresh_from_db()
    ledger = sum(VoucherTransaction.objects.filter(voucher=card).values_list("amount", flat=True))
    assert card.gift_balance == ledger == 500
    assert card.gift_amount == 6500  # lifetime credits grow with additions only
    with pytest.raises(ApplicationError, match="Only gift cards and loyalty cards"):
        services.card_adjust(voucher=VoucherFactory(campaign__project=project), amount=1)


def test_publishing_from_a_campaign_gives_distinct_free_codes(project):
    campaign = coupons(project, count=5)
    ann = CustomerFactory(project=project, source_id="ann")
    first = services.publication_create(project=project, customer=ann, campaign="Spring", count=2)
    second = services.publication_create(
        project=project,
        customer_payload={"source_id": "bob", "name": "Bob"},
        campaign=campaign.public_id,
    )
    codes = [v.code for v in first.published_vouchers] + [v.code for v in second.published_vouchers]
    assert len(set(codes)) == 3
    assert Voucher.objects.filter(campaign=campaign, holder__source_id="bob").count() == 1
    with pytest.raises(ApplicationError, match="no free code left") as error:
        services.publication_create(project=project, customer=ann, campaign="Spring", count=3)
    assert error.value.key == "no_voucher_suitable_for_publication"
    with pytest.raises(ApplicationError) as error:
        services.publication_create(project=project, customer=ann, campaign="Spring", count=51)
    assert error.value.key == "too_many_vouchers_requested"


def test_join_once_returns_the_code_a_customer_already_holds(project):
    coupons(project, count=3, join_once=True)
    ann = CustomerFactory(project=project)
    first = services.publication_create(project=project, customer=ann, campaign="Spring")
    again = services.publication_create(project=project, customer=ann, campaign="Spring")
    assert again.published_vouchers == first.published_vouchers
    assert Voucher.objects.filter(holder=ann).count() == 1


def test_auto_update_campaigns_make_codes_as_publications_need_them(project):
    campaign = coupons(project, count=0, type="AUTO_UPDATE")
    publication = services.publication_create(
        project=project, customer=CustomerFactory(project=project), campaign="Spring", count=3
    )
    assert len(publication.published_vouchers) == 3
    assert Voucher.objects.filter(campaign=campaign).count() == 3


def test_a_specific_code_goes_to_one_customer_only_and_source_ids_are_idempotent_keys(project):
    voucher = VoucherFactory(campaign__project=project)
    ann, bob = CustomerFactory(project=project), CustomerFactory(project=project)
    services.publication_create(
        project=project, customer=ann, voucher=voucher.code, source_id="p-1"
    )
    with pytest.raises(ApplicationError) as error:
        services.publication_create(project=project, customer=bob, voucher=voucher.code)
    assert error.value.key == "voucher_already_published"
    with pytest.raises(ApplicationError) as error:
        services.publication_create(
            project=project, customer=ann, voucher=voucher.code, source_id="p-1"
        )
    assert (error.value.key, error.value.code) == ("duplicate_source_id", 409)
    with pytest.raises(ApplicationError) as error:
        services.publication_create(project=project, customer=ann)
    assert error.value.key == "missing_vouchers"


def test_publishing_sets_the_expiry_from_the_activity_duration(project):
    coupons(project, count=1, activity_duration_after_publishing="P7D")
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    publication = services.publication_create(
        project=project, customer=CustomerFactory(project=project), campaign="Spring", now=now
    )
    assert publication.published_vouchers[0].expiration_date == now + dt.timedelta(days=7)


def test_publishing_to_a_segment_is_a_resumable_job(project, django_capture_on_commit_callbacks):
    campaign = coupons(project, count=10)
    segment = SegmentFactory(project=project, type="static")
    members = [CustomerFactory(project=project) for _ in range(4)]
    segment_add_members(segment=segment, refs=[c.source_id for c in members])
    with django_capture_on_commit_callbacks(execute=True):
        job = services.publish_segment_start(campaign=campaign, segment=segment)
    job.refresh_from_db()
    assert job.result == {"published": 4, "skipped": 0, "customers": 4}
    holders = set(Voucher.objects.filter(campaign=campaign).values_list("holder", flat=True))
    assert holders - {None} == {c.pk for c in members}
    # run again (a redelivered task): nobody gets a second code
    Job.objects.filter(pk=job.pk).update(status=JobStatus.ENQUEUED)
    assert services.publish_segment(job_id=job.pk) == {"published": 0, "skipped": 4, "customers": 4}
    assert Voucher.objects.filter(campaign=campaign, holder__isnull=False).count() == 4


def test_campaign_update_changes_what_later_codes_get(project):
    campaign = coupons(project, count=1)
    services.campaign_update(
        campaign=campaign,
        payload={
            "name": "Spring 2",
            "voucher": {"discount": {"type": "AMOUNT", "amount_off": 700}},
        },
    )
    services.generate_codes(campaign, 1)
    discounts = sorted(
        Voucher.objects.filter(campaign=campaign).values_list("discount__type", flat=True)
    )
    assert discounts == ["AMOUNT", "PERCENT"]
    assert Campaign.objects.get(pk=campaign.pk).name == "Spring 2"


def test_tiers_and_stacks(project):
    promotion = services.campaign_create(
        project=project, payload={"name": "Sale", "campaign_type": "PROMOTION"}
    )
    tiers = [
        services.tier_create(
            campaign=promotion,
            payload={
                "name": f"T{i}",
                "action": {"discount": {"type": "AMOUNT", "amount_off": i * 100}},
            },
        )
        for i in (1, 2, 3)
    ]
    services.tiers_reorder(
        campaign=promotion, tier_ids=[tiers[2].public_id, tiers[0].public_id, tiers[1].public_id]
    )
    assert list(
        PromotionTier.objects.filter(campaign=promotion).values_list("name", flat=True)
    ) == ["T3", "T1", "T2"]
    with pytest.raises(ApplicationError, match="every tier"):
        services.tiers_reorder(campaign=promotion, tier_ids=[tiers[0].public_id])
    stack = services.stack_create(
        campaign=promotion,
        payload={"name": "Both", "tiers": {"ids": [tiers[1].public_id, tiers[0].public_id]}},
    )
    assert [t.name for t in services.stack_tiers(stack)] == ["T2", "T1"]
    other = services.campaign_create(
        project=project, payload={"name": "Other", "campaign_type": "PROMOTION"}
    )
    foreign = services.tier_create(
        campaign=other,
        payload={"name": "X", "action": {"discount": {"type": "AMOUNT", "amount_off": 1}}},
    )
    with pytest.raises(ApplicationError, match="Not tiers of this campaign"):
        services.stack_update(stack=stack, payload={"tiers": {"ids": [foreign.public_id]}})


def test_templates_recreate_a_campaign(project):
    campaign = coupons(project, count=1, join_once=True)
    template = services.template_create(campaign=campaign, name="Spring template")
    copy = services.campaign_from_template(
        template=template, payload={"name": "Autumn", "vouchers_count": 2}
    )
    assert (copy.discount, copy.code_config, copy.join_once) == (
        campaign.discount,
        campaign.code_config,
        True,
    )
    assert Voucher.objects.filter(campaign=copy).count() == 2
    promotion = services.campaign_create(
        project=project, payload={"name": "Sale", "campaign_type": "PROMOTION"}
    )
    tier = services.tier_from_template(template=template, campaign=promotion, payload={})
    assert tier.discount == campaign.discount and tier.name == "Spring template"


def test_lookups_never_cross_projects(project):
    elsewhere = CampaignFactory(name="Spring")
    VoucherFactory(campaign=elsewhere, code="FOREIGN1")
    with pytest.raises(ApplicationError) as error:
        services.resolve_campaign(project, "Spring")
    assert error.value.key == "not_found"
    with pytest.raises(ApplicationError):
        services.resolve_voucher(project, "FOREIGN1")
