"""Several workers sending the same distribution at once, on PostgreSQL (row locks, SKIP
LOCKED and conditional updates need a real server)."""

from collections import Counter

import pytest
from django.utils import timezone

from apps.campaigns.models import Publication, Voucher
from apps.campaigns.services.generation import generate_codes
from apps.distributions.models import Delivery, DeliveryStatus, Status
from apps.distributions.sending import deliveries_process
from tests.campaigns.factories import CampaignFactory
from tests.concurrency import requires_postgres, run_concurrently
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

from .helpers import manual

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]


def test_three_workers_on_the_same_rows_send_each_message_and_code_once(smtp_sink):
    # given a planned send of 120 customers (the rows exist, nobody has sent yet)
    project = ProjectFactory()
    campaign = CampaignFactory(project=project)
    generate_codes(campaign, 150)
    customers = [CustomerFactory(project=project) for _ in range(120)]
    distribution = manual(project, campaign=campaign)
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            project=project,
            distribution=distribution,
            customer=customer,
            channel="email",
            created_at=now,
        )
        for customer in customers
    )
    type(distribution).objects.filter(pk=distribution.pk).update(status=Status.SENDING)

    # when three workers run the same chunk at the same moment, in small batches
    results = run_concurrently(
        *[lambda: deliveries_process(distribution_id=distribution.pk, batch=7)] * 3
    )

    # then every customer got one message with the one code they hold
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.get("SENT", 0) for r in results) == 120
    received = Counter(r for m in smtp_sink.messages for r in m.recipients)
    assert set(received.values()) == {1} and len(received) == 120
    holders = Counter(Voucher.objects.filter(holder__isnull=False).values_list("holder", flat=True))
    assert len(holders) == 120 and set(holders.values()) == {1}
    assert Publication.objects.count() == 120
    for message in smtp_sink.messages:
        code = Delivery.objects.get(customer__email=message.recipients[0]).code
        assert f"Code: {code} " in message.text
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 120
