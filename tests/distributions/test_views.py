import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import Publication
from apps.customers.models import Customer
from apps.distributions import services
from apps.distributions.models import Delivery, DeliveryStatus, Distribution, Status
from apps.distributions.unsubscribe import unsubscribe_url
from apps.projects.models import Role
from tests.customers.factories import CustomerFactory

from .factories import DistributionFactory
from .helpers import HTML, TEXT, automatic, manual

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def marketer(member_client):
    return member_client(Role.MARKETER)


def form_data(the_segment, campaign=None, **overrides):
    data = {
        "name": "Spring mailing",
        "kind": "MANUAL",
        "audience": "segment",
        "segment": the_segment.public_id,
        "channel": "email",
        "campaign": campaign.public_id if campaign else "",
        "subject": "Hello {{ customer.name }}",
        "body_html": HTML,
        "body_text": TEXT,
        "delay_minutes": "0",
    }
    return {**data, **overrides}


def test_the_list_and_its_partial(marketer, project):
    DistributionFactory(project=project, name="Welcome mail")
    DistributionFactory(name="Other project's")
    response = marketer.get(reverse("distributions:list"))
    assert response.status_code == 200
    assert b"Welcome mail" in response.content and b"Other project" not in response.content
    partial = marketer.get(reverse("distributions:list"), {"q": "nothing"}, **HTMX)
    assert b"<html" not in partial.content
    assert b'id="distribution-results"' in partial.content
    assert b"No distribution matches" in partial.content


def test_create_a_manual_distribution(marketer, project, segment, campaign):
    page = marketer.get(reverse("distributions:create"))
    assert page.status_code == 200
    assert b"{{ voucher.code }}" in page.content  # the starter message
    response = marketer.post(reverse("distributions:create"), form_data(segment, campaign))
    distribution = Distribution.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == reverse("distributions:detail", args=[distribution.public_id])
    assert (distribution.status, distribution.segment, distribution.campaign) == (
        Status.DRAFT,
        segment,
        campaign,
    )
    assert distribution.created_by == marketer.membership.user


def test_the_form_shows_errors_instead_of_saving(marketer, project, segment):
    response = marketer.post(
        reverse("distributions:create"),
        form_data(segment, segment="", body_html="{% for %}", subject="{% load i18n %}"),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Line 1: {% load %} is not available in message templates." in content
    assert "should have at least four words" in content
    assert not Distribution.objects.exists()
    # a valid template, but no segment: the service says so on the field
    response = marketer.post(reverse("distributions:create"), form_data(segment, segment=""))
    assert "Choose the segment to send to." in response.content.decode()
    assert not Distribution.objects.exists()


def test_a_customer_list_must_name_known_customers(marketer, project, segment):
    known = CustomerFactory(project=project)
    response = marketer.post(
        reverse("distributions:create"),
        form_data(segment, audience="customers", customers=f"{known.source_id}\nnobody"),
    )
    assert "No such customer: nobody" in response.content.decode()
    marketer.post(
        reverse("distributions:create"),
        form_data(segment, audience="customers", customers=known.public_id),
    )
    assert list(Distribution.objects.get().customers.all()) == [known]


def test_changing_the_type_re_renders_the_fields_without_errors(marketer, segment):
    response = marketer.post(
        reverse("distributions:create"),
        {**form_data(segment, name=""), "kind": "AUTOMATIC", "_refresh": "1"},
        **HTMX,
    )
    content = response.content.decode()
    assert "<html" not in content and 'id="distribution-fields"' in content
    assert 'name="trigger"' in content and 'name="audience"' not in content
    assert "invalid-feedback" not in content
    response = marketer.post(
        reverse("distributions:create"),
        {
            **form_data(segment),
            "kind": "AUTOMATIC",
            "trigger": "customer.custom_event",
            "channel": "sms",
            "_refresh": "1",
        },
        **HTMX,
    )
    content = response.content.decode()
    assert 'name="custom_event"' in content and 'name="subject"' not in content


def test_create_an_automatic_distribution(marketer, project, segment):
    response = marketer.post(
        reverse("distributions:create"),
        form_data(
            segment, kind="AUTOMATIC", trigger="customer.segment.entered", delay_minutes="15"
        ),
    )
    assert response.status_code == 302
    distribution = Distribution.objects.get()
    assert (distribution.status, distribution.trigger, distribution.delay_minutes) == (
        Status.ACTIVE,
        "customer.segment.entered",
        15,
    )
    assert distribution.audience == ""


def test_the_live_preview_for_a_chosen_customer(marketer, project, segment, campaign):
    customer = CustomerFactory(project=project, name="Zoë <Z>")
    response = marketer.post(
        reverse("distributions:preview"),
        {**form_data(segment, campaign), "preview_customer": customer.source_id},
        **HTMX,
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Hello Zoë &lt;Z&gt;" in content  # the subject, escaped in the page
    assert "Code: SAMPLE-CODE (10% off)" in content
    assert "srcdoc=" in content  # the HTML body, in a sandboxed frame
    assert not Publication.objects.exists()
    unknown = marketer.post(
        reverse("distributions:preview"),
        {**form_data(segment), "preview_customer": "nobody"},
        **HTMX,
    )
    assert "No customer “nobody”: showing a sample customer." in unknown.content.decode()


def test_the_preview_reports_template_errors(marketer, segment):
    response = marketer.post(
        reverse("distributions:preview"),
        form_data(segment, body_html="{% include 'x.html' %}"),
        **HTMX,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="template-error"' in content
    assert "{% include %} is not available in message templates." in content


def test_a_test_send_goes_to_the_marketer_with_a_sample_code(
    smtp_sink, marketer, project, segment, campaign
):
    response = marketer.post(
        reverse("distributions:test_send"), form_data(segment, campaign), **HTMX
    )
    me = marketer.membership.user.email
    assert f"Test sent to {me}." in response.content.decode()
    [received] = smtp_sink.messages
    assert received.recipients == [me]
    assert received.subject == "[Test] Hello Sam Sample"
    assert "SAMPLE-CODE" in received.text
    assert not Publication.objects.exists() and not Delivery.objects.exists()
    sms = marketer.post(
        reverse("distributions:test_send"), form_data(segment, channel="sms"), **HTMX
    )
    assert "Test sends are for email" in sms.content.decode()


def test_segment_size_counts_whom_the_channel_reaches(marketer, segment):
    response = marketer.get(
        reverse("distributions:segment_size"), {"segment": segment.public_id, "channel": "email"}
    )
    content = response.content.decode()
    assert "<strong>7</strong> customers in “Newsletter”" in content
    assert '<strong data-testid="reachable">5</strong> reachable by email' in content
    assert marketer.get(reverse("distributions:segment_size"), {"segment": "seg_x"}).content.strip()


def test_send_now_from_the_page_and_watch_the_counts(
    smtp_sink, marketer, project, segment, campaign, django_capture_on_commit_callbacks
):
    distribution = manual(project, segment=segment, campaign=campaign)
    url = reverse("distributions:send", args=[distribution.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer.post(url)
    assert response.status_code == 302
    distribution.refresh_from_db()
    assert distribution.status == Status.SENT
    progress = marketer.get(
        reverse("distributions:detail", args=[distribution.public_id]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="distribution-progress",
    )
    content = progress.content.decode()
    assert "<html" not in content and "every 1s" not in content  # finished: no more polling
    assert 'data-testid="count-sent">5<' in content
    assert 'data-testid="count-skipped">2<' in content
    # the log, filtered
    detail = reverse("distributions:detail", args=[distribution.public_id])
    skipped = marketer.get(detail, {"status": "SKIPPED"}, **HTMX).content.decode()
    assert skipped.count('data-testid="delivery-row"') == 2
    reader = segment.members.filter(customer__name="Reader 3").get().customer
    found = marketer.get(detail, {"q": reader.email}, **HTMX).content.decode()
    assert found.count('data-testid="delivery-row"') == 1 and reader.name in found
    # sending twice is refused
    marketer.post(url)
    assert len(smtp_sink.messages) == 5


def test_a_sending_distribution_page_polls(marketer, project, segment):
    distribution = DistributionFactory(project=project, status=Status.SENDING)
    content = marketer.get(reverse("distributions:detail", args=[distribution.public_id])).content
    assert b'hx-trigger="every 1s"' in content


def test_schedule_and_unschedule(
    smtp_sink, marketer, project, segment, django_capture_on_commit_callbacks
):
    project.time_zone = "Europe/Warsaw"
    project.save()
    distribution = manual(project, segment=segment)
    url = reverse("distributions:send", args=[distribution.public_id])
    past = marketer.post(url, {"scheduled_at": "2000-01-01T10:00"}, follow=True)
    assert "Pick a time in the future" in past.content.decode()
    at = (timezone.now() + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=1)))
    marketer.post(url, {"scheduled_at": f"{at:%Y-%m-%d}T10:00"})
    distribution.refresh_from_db()
    assert distribution.status == Status.SCHEDULED
    assert distribution.scheduled_at.astimezone(dt.UTC).hour in (8, 9)  # 10:00 in Warsaw
    marketer.post(reverse("distributions:unschedule", args=[distribution.public_id]))
    distribution.refresh_from_db()
    assert (distribution.status, distribution.scheduled_at) == (Status.DRAFT, None)
    # scheduled again: the sweep sends it when the time comes
    services.distribution_send(distribution=distribution, at=timezone.now() + dt.timedelta(hours=1))
    services.distributions_sweep()
    assert smtp_sink.messages == []
    later = timezone.now() + dt.timedelta(hours=2)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        services.distributions_sweep()
    distribution.refresh_from_db()
    assert distribution.status == Status.SENT
    assert len(smtp_sink.messages) == 5


def test_pause_and_resume(marketer, project):
    distribution = automatic(project, trigger="order.paid")
    url = reverse("distributions:toggle", args=[distribution.public_id])
    marketer.post(url)
    distribution.refresh_from_db()
    assert distribution.status == Status.PAUSED
    marketer.post(url)
    distribution.refresh_from_db()
    assert distribution.status == Status.ACTIVE


def test_edit_and_delete(marketer, project, segment):
    distribution = manual(project, segment=segment)
    edit = reverse("distributions:edit", args=[distribution.public_id])
    page = marketer.get(edit)
    assert b"Spring mailing" in page.content
    marketer.post(edit, form_data(segment, name="Renamed"))
    distribution.refresh_from_db()
    assert distribution.name == "Renamed"
    marketer.post(reverse("distributions:delete", args=[distribution.public_id]))
    assert not Distribution.objects.exists()


def test_a_sent_distribution_cannot_be_edited(marketer, project):
    distribution = DistributionFactory(project=project, status=Status.SENT)
    response = marketer.get(reverse("distributions:edit", args=[distribution.public_id]))
    assert response.status_code == 302


def test_retry_a_failed_delivery_from_the_log(
    smtp_sink, marketer, project, segment, django_capture_on_commit_callbacks
):
    victim = segment.members.filter(customer__name="Reader 0").get().customer
    smtp_sink.refuse[victim.email] = "550 5.1.1 Unknown"
    distribution = manual(project, segment=segment)
    with django_capture_on_commit_callbacks(execute=True):
        services.distribution_send(distribution=distribution)
    failed = Delivery.objects.get(distribution=distribution, status=DeliveryStatus.FAILED)
    page = marketer.get(reverse("distributions:detail", args=[distribution.public_id]))
    assert b"SMTP 550 5.1.1 Unknown" in page.content
    del smtp_sink.refuse[victim.email]
    with django_capture_on_commit_callbacks(execute=True):
        marketer.post(
            reverse("distributions:delivery_retry", args=[distribution.public_id, failed.pk])
        )
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT


def test_viewers_read_but_do_not_write(member_client, project, segment):
    viewer = member_client(Role.VIEWER)
    distribution = manual(project, segment=segment)
    assert (
        viewer.get(reverse("distributions:detail", args=[distribution.public_id])).status_code
        == 200
    )
    assert (
        viewer.post(reverse("distributions:send", args=[distribution.public_id])).status_code == 403
    )
    assert viewer.post(reverse("distributions:preview"), form_data(segment)).status_code == 403


def test_another_projects_distribution_is_a_404(marketer):
    other = DistributionFactory()
    assert marketer.get(reverse("distributions:detail", args=[other.public_id])).status_code == 404


# -- unsubscribe ------------------------------------------------------------------------------


def test_the_unsubscribe_link_needs_no_login_and_then_the_customer_is_skipped(
    client, smtp_sink, project, segment, django_capture_on_commit_callbacks
):
    reader = segment.members.filter(customer__name="Reader 1").get().customer
    first = manual(project, segment=segment)
    with django_capture_on_commit_callbacks(execute=True):
        services.distribution_send(distribution=first)
    url = unsubscribe_url(reader)
    assert url in smtp_sink.to(reader.email)[0].text

    path = url.split("127.0.0.1:8000", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and b"Unsubscribe from Acme Shop?" in page.content
    done = client.post(path)
    assert b"You are unsubscribed" in done.content
    reader.refresh_from_db()
    assert reader.marketing_opt_out and reader.opted_out_at is not None

    second = manual(project, segment=segment, name="Second")
    with django_capture_on_commit_callbacks(execute=True):
        services.distribution_send(distribution=second)
    assert Delivery.objects.get(distribution=second, customer=reader).status == "SKIPPED"
    assert len(smtp_sink.to(reader.email)) == 1


def test_one_click_unsubscribe_and_bad_tokens(client, project):
    customer = CustomerFactory(project=project)
    path = unsubscribe_url(customer).split("127.0.0.1:8000", 1)[1]
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and response.content == b"Unsubscribed."
    assert Customer.objects.get(pk=customer.pk).marketing_opt_out
    tampered = path.replace(customer.public_id, CustomerFactory(project=project).public_id)
    assert client.get(tampered).status_code == 404
    assert client.post(tampered).status_code == 404
