import datetime as dt
import smtplib

import pytest
import time_machine
from django.utils import timezone

from apps.campaigns.models import CampaignMode, Publication, Voucher
from apps.distributions import services, sms
from apps.distributions.channels import EmailSender, RateLimiter
from apps.distributions.errors import HandoverRefused
from apps.distributions.models import Channel, Delivery, DeliveryStatus, Status
from apps.distributions.sending import MAX_ATTEMPTS, OPTED_OUT, deliveries_process
from apps.distributions.templating import Message
from apps.jobs.models import JobStatus
from tests.campaigns.factories import CampaignFactory
from tests.customers.factories import CustomerFactory
from tests.webhooks.receiver import Receiver

from .helpers import manual, send

pytestmark = pytest.mark.django_db


def statuses(distribution) -> dict:
    return dict(
        Delivery.objects.filter(distribution=distribution).values_list("customer__name", "status")
    )


def test_each_member_with_an_email_gets_one_message_with_their_own_code(
    smtp_sink, project, campaign, segment, django_capture_on_commit_callbacks
):
    distribution = manual(project, segment=segment, campaign=campaign)

    distribution = send(distribution, django_capture_on_commit_callbacks)

    assert len(smtp_sink.messages) == 5
    readers = segment.members.filter(customer__name__startswith="Reader")
    for member in readers.select_related("customer"):
        customer = member.customer
        [received] = smtp_sink.to(customer.email)
        [code] = Voucher.objects.filter(holder=customer).values_list("code", flat=True)
        assert received.subject == f"Hello {customer.name}"
        assert f"Code: {code} (10% off)" in received.text
        assert f"<b>{code}</b>" in received.html
        assert str(received.message["List-Unsubscribe"]).strip().startswith("<http")
    # five distinct codes, each published once, from this distribution
    publications = Publication.objects.filter(campaign=campaign)
    assert publications.count() == 5
    assert all(p.source_id.startswith(distribution.public_id) for p in publications)
    assert Voucher.objects.filter(campaign=campaign, holder__isnull=False).count() == 5
    counts = services.delivery_counts(distribution=distribution)
    assert (counts["SENT"], counts["SKIPPED"], counts["FAILED"], counts["QUEUED"]) == (5, 2, 0, 0)
    skipped = Delivery.objects.filter(distribution=distribution, status="SKIPPED")
    assert sorted(skipped.values_list("error", flat=True)) == sorted(
        [OPTED_OUT, "The customer has no email address."]
    )
    assert distribution.status == Status.SENT
    distribution.job.refresh_from_db()
    assert distribution.job.status == JobStatus.DONE
    assert distribution.job.result == {"sent": 5, "skipped": 2, "failed": 0, "recipients": 7}
    assert distribution.job.progress == 100


def test_running_the_send_again_sends_and_publishes_nothing_more(
    smtp_sink, project, campaign, segment, django_capture_on_commit_callbacks
):
    distribution = send(
        manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks
    )
    # a duplicated plan and chunk task, and a sweep
    services.distribution_plan(distribution_id=distribution.pk)
    assert deliveries_process(distribution_id=distribution.pk) == {}
    services.distributions_sweep(now=timezone.now() + dt.timedelta(hours=1))
    assert len(smtp_sink.messages) == 5
    assert Publication.objects.filter(campaign=campaign).count() == 5


def test_a_row_reset_after_a_crash_is_sent_again_with_the_same_code(
    smtp_sink, project, campaign, segment, django_capture_on_commit_callbacks
):
    distribution = send(
        manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks
    )
    delivery = Delivery.objects.filter(distribution=distribution, status="SENT").first()
    # a worker died after the code was committed and before the hand-over
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    smtp_sink.messages.clear()

    deliveries_process(distribution_id=distribution.pk)

    [received] = smtp_sink.messages
    assert delivery.code in received.text
    assert Publication.objects.filter(campaign=campaign).count() == 5


def test_a_transient_refusal_is_retried_with_backoff(
    smtp_sink, project, campaign, segment, django_capture_on_commit_callbacks
):
    victim = (
        segment.members.select_related("customer").filter(customer__name="Reader 0").get().customer
    )
    smtp_sink.refuse[victim.email] = "451 4.3.0 Mailbox busy, try later"

    distribution = send(
        manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks
    )

    delivery = Delivery.objects.get(distribution=distribution, customer=victim)
    assert delivery.status == DeliveryStatus.QUEUED
    assert "451" in delivery.error
    assert delivery.attempts == 1
    wait = delivery.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=20) < wait < dt.timedelta(seconds=37)
    assert distribution.status == Status.SENDING  # the job waits for the retry
    # the mailbox recovers; the sweep after the backoff sends it, with the code it already has
    del smtp_sink.refuse[victim.email]
    code = delivery.code
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        services.distributions_sweep()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert code and code in smtp_sink.to(victim.email)[0].text
    distribution.refresh_from_db()
    assert distribution.status == Status.SENT


def test_it_gives_up_after_the_last_attempt(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    victim = segment.members.filter(customer__name="Reader 1").get().customer
    smtp_sink.refuse[victim.email] = "421 4.7.0 Try again later"
    distribution = send(manual(project, segment=segment), django_capture_on_commit_callbacks)
    for _ in range(MAX_ATTEMPTS):
        with time_machine.travel(timezone.now() + dt.timedelta(hours=3), tick=False):
            services.distributions_sweep()
            Delivery.objects.filter(distribution=distribution, customer=victim).update(
                next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
            )
    delivery = Delivery.objects.get(distribution=distribution, customer=victim)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts: SMTP 421")


def test_a_permanent_refusal_fails_with_the_reason_and_can_be_retried(
    smtp_sink, project, campaign, segment, django_capture_on_commit_callbacks
):
    victim = segment.members.filter(customer__name="Reader 2").get().customer
    smtp_sink.refuse[victim.email] = "550 5.1.1 No such user here"

    distribution = send(
        manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks
    )

    delivery = Delivery.objects.get(distribution=distribution, customer=victim)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "SMTP 550 5.1.1 No such user here"
    assert distribution.status == Status.SENT
    assert len(smtp_sink.messages) == 4
    # the address is fixed; a member retries the delivery
    del smtp_sink.refuse[victim.email]
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_retry(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.code in smtp_sink.to(victim.email)[0].text
    assert Publication.objects.filter(customer=victim).count() == 1


def test_an_unreachable_mail_server_puts_the_batch_back_without_spending_attempts(
    settings, project, segment, django_capture_on_commit_callbacks
):
    from .smtp_sink import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    distribution = send(manual(project, segment=segment), django_capture_on_commit_callbacks)
    queued = Delivery.objects.filter(distribution=distribution, status=DeliveryStatus.QUEUED)
    assert queued.count() == 5
    assert all("connect" in d.error.lower() for d in queued)
    assert sorted(queued.values_list("attempts", flat=True)) == [0, 0, 0, 0, 1]
    assert all(d.next_attempt_at > timezone.now() for d in queued)


def test_the_delivery_is_recorded_before_the_server_accepts_the_message(smtp_sink):
    sender = EmailSender()
    message = Message(subject="Hi", html="", text="Body")
    seen = []

    def handover():
        seen.append(len(smtp_sink.messages))  # what the server had when we recorded
        return True

    sender.send(sender.build(to="a@example.com", message=message, headers={}), handover)
    assert seen == [0]
    assert len(smtp_sink.messages) == 1
    # a refused hand-over (the claim was lost) abandons the message: the server drops it
    with pytest.raises(HandoverRefused):
        sender.send(sender.build(to="b@example.com", message=message, headers={}), lambda: False)
    # and the sender reconnects for the next one
    sender.send(sender.build(to="c@example.com", message=message, headers={}), lambda: True)
    sender.close()
    assert [m.recipients for m in smtp_sink.messages] == [["a@example.com"], ["c@example.com"]]


def test_an_auto_update_campaign_generates_the_codes_it_lacks(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(project=project, type=CampaignMode.AUTO_UPDATE)
    send(manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks)
    assert Voucher.objects.filter(campaign=campaign, holder__isnull=False).count() == 5
    assert len(smtp_sink.messages) == 5


def test_customers_beyond_the_free_codes_fail_with_the_reason(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    from apps.campaigns.services.generation import generate_codes

    campaign = CampaignFactory(project=project)
    generate_codes(campaign, 2)
    distribution = send(
        manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks
    )
    failed = Delivery.objects.filter(distribution=distribution, status=DeliveryStatus.FAILED)
    assert failed.count() == 3
    assert set(failed.values_list("error", flat=True)) == {"The campaign has no free code left."}
    assert len(smtp_sink.messages) == 2


def test_join_once_customers_get_the_code_they_hold(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    from apps.campaigns.services.generation import generate_codes

    campaign = CampaignFactory(project=project, join_once=True)
    generate_codes(campaign, 10)
    holder = segment.members.filter(customer__name="Reader 3").get().customer
    held = Voucher.objects.filter(campaign=campaign).order_by("-id").first()
    Voucher.objects.filter(pk=held.pk).update(holder=holder)

    send(manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks)

    assert Voucher.objects.filter(holder=holder).count() == 1
    assert held.code in smtp_sink.to(holder.email)[0].text
    assert Voucher.objects.filter(campaign=campaign, holder__isnull=False).count() == 5


def test_a_message_without_a_campaign_publishes_nothing(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    distribution = manual(project, segment=segment, body_text="News for {{ customer.name }}")
    send(distribution, django_capture_on_commit_callbacks)
    assert len(smtp_sink.messages) == 5
    assert not Publication.objects.exists()


def test_a_list_of_customers_and_all_customers(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    one, two = CustomerFactory(project=project), CustomerFactory(project=project)
    CustomerFactory()  # another project's customer never gets it
    listed = manual(project, audience="customers", customers=[one, two], name="List")
    send(listed, django_capture_on_commit_callbacks)
    assert sorted(r for m in smtp_sink.messages for r in m.recipients) == sorted(
        [one.email, two.email]
    )
    smtp_sink.messages.clear()
    send(manual(project, name="Everyone"), django_capture_on_commit_callbacks)
    assert len(smtp_sink.messages) == 5 + 2  # the segment's reachable readers and the two


def test_sms_through_the_log_provider(project, segment, django_capture_on_commit_callbacks):
    distribution = manual(
        project, segment=segment, channel=Channel.SMS, body_text="Hi {{ customer.name }}"
    )
    send(distribution, django_capture_on_commit_callbacks)
    assert sorted(m["body"] for m in sms.outbox) == [f"Hi Reader {i}" for i in range(5)]
    skipped = Delivery.objects.filter(distribution=distribution, status="SKIPPED")
    assert skipped.count() == 2


def test_sms_through_a_twilio_style_api(
    settings, project, segment, django_capture_on_commit_callbacks
):
    import base64
    from urllib.parse import parse_qs

    receiver = Receiver(fail_first=1).start()
    settings.SMS_BACKEND = "apps.distributions.sms.TwilioProvider"
    settings.SMS_API_URL = receiver.url
    settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN = "AC123", "secret"
    settings.SMS_FROM = "+15550001"
    settings.DISTRIBUTION_RATE_LIMITS = {"sms": None}
    try:
        distribution = manual(
            project, segment=segment, channel=Channel.SMS, body_text="Hi {{ customer.name }}"
        )
        send(distribution, django_capture_on_commit_callbacks)
    finally:
        receiver.stop()
    # the first POST got a 500: that customer waits for a retry, the others are sent
    assert len(receiver.requests) == 5
    form = parse_qs(receiver.requests[-1].body.decode())
    assert form["From"] == ["+15550001"] and form["Body"][0].startswith("Hi Reader")
    auth = receiver.requests[-1].headers["Authorization"]
    assert base64.b64decode(auth.split()[1]) == b"AC123:secret"
    counts = services.delivery_counts(distribution=distribution)
    assert (counts["SENT"], counts["QUEUED"]) == (4, 1)
    assert Delivery.objects.get(distribution=distribution, status="QUEUED").error.startswith(
        "HTTP 500"
    )


def test_webhook_channel_posts_the_message_and_the_code(
    project, campaign, segment, django_capture_on_commit_callbacks
):
    import json

    receiver = Receiver().start()
    try:
        distribution = manual(
            project,
            segment=segment,
            campaign=campaign,
            channel=Channel.WEBHOOK,
            webhook_url=receiver.url,
            subject="",
            body_html="",
        )
        send(distribution, django_capture_on_commit_callbacks)
    finally:
        receiver.stop()
    # webhooks need no address: opted-out customers are still skipped
    assert len(receiver.requests) == 6
    body = json.loads(receiver.requests[0].body)
    customer = Delivery.objects.get(
        distribution=distribution, customer__public_id=body["customer"]["id"]
    )
    assert body["object"] == "distribution_message"
    assert body["voucher"]["code"] == customer.code
    assert body["message"]["text"].startswith(f"Code: {customer.code}")
    assert receiver.requests[0].headers["Idempotency-Key"] == body["id"]


def test_a_http_delivery_is_recorded_before_the_last_byte(project):
    from apps.distributions import http

    receiver = Receiver().start()
    seen = []
    try:
        http.post_json(
            receiver.url, {"a": 1}, handover=lambda: seen.append(len(receiver.requests)) or True
        )
        with pytest.raises(HandoverRefused):
            http.post_json(receiver.url, {"a": 2}, handover=lambda: False)
    finally:
        receiver.stop()
    assert seen == [0]
    # the abandoned request never got its last byte: a server acts on complete bodies only
    complete = [r for r in receiver.requests if len(r.body) == int(r.headers["Content-Length"])]
    assert [r.body for r in complete] == [b'{"a":1}']


def test_the_rate_limiter_holds_messages_to_the_next_second(settings):
    settings.DISTRIBUTION_RATE_LIMITS = {"sms": 2}
    now = [1000.2]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    limiter = RateLimiter("sms")
    for _ in range(5):
        limiter.wait(clock=lambda: now[0], sleep=sleep)
    assert slept == [0.8, 1.0]  # two a second: 2 + 2 + 1
    assert RateLimiter("email").limit is None


def test_an_opted_out_customer_since_planning_is_skipped(
    smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    distribution = manual(project, segment=segment)
    reader = segment.members.filter(customer__name="Reader 4").get().customer
    # planned while subscribed, opted out before the chunk ran
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.distribution_send(distribution=distribution)
    from apps.distributions.tasks import distribution_deliver_task

    original = distribution_deliver_task.delay
    distribution_deliver_task.delay = lambda *a, **k: None
    try:
        for callback in callbacks:
            callback()
    finally:
        distribution_deliver_task.delay = original
    type(reader).objects.filter(pk=reader.pk).update(marketing_opt_out=True)
    deliveries_process(distribution_id=distribution.pk)
    assert Delivery.objects.get(distribution=distribution, customer=reader).status == "SKIPPED"
    assert not smtp_sink.to(reader.email)


def test_smtp_errors_map_to_permanent_and_transient():
    from apps.distributions.channels import _smtp_code, _smtp_reason

    refused = smtplib.SMTPRecipientsRefused({"a@x": (550, b"5.1.1 unknown")})
    assert _smtp_code(refused) == 550
    assert _smtp_reason(refused) == "SMTP 550 5.1.1 unknown"
    assert _smtp_code(smtplib.SMTPDataError(452, b"full")) == 452


def test_a_segment_in_use_cannot_be_deleted(project, segment):
    from apps.core.errors import ApplicationError
    from apps.segments.services import segment_delete

    manual(project, segment=segment)
    with pytest.raises(ApplicationError) as refused:
        segment_delete(segment=segment)
    assert "distribution Spring mailing" in refused.value.message


def test_deleting_the_campaign_keeps_the_log_without_dangling_codes(
    smtp_sink, project, campaign, segment, django_capture_on_commit_callbacks
):
    from apps.campaigns.services.campaigns import campaign_delete

    distribution = send(
        manual(project, segment=segment, campaign=campaign), django_capture_on_commit_callbacks
    )
    campaign_delete(campaign=campaign)
    sent = Delivery.objects.filter(distribution=distribution, status="SENT")
    assert sent.count() == 5
    assert not sent.filter(voucher__isnull=False).exists()
    assert all(delivery.code for delivery in sent)  # the log still says which code went out
    distribution.refresh_from_db()
    assert distribution.campaign is None
