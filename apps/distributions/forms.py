from django import forms
from django.db.models import Q

from apps.campaigns.models import Campaign, CampaignType
from apps.customers.models import Customer
from apps.segments.models import Segment

from .models import Audience, Channel, Kind, Trigger
from .templating import check_templates

MAX_CUSTOMERS = 10_000


class SegmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, segment) -> str:
        return f"{segment.name} ({segment.size:,} customer{'' if segment.size == 1 else 's'})"


class DistributionForm(forms.Form):
    name = forms.CharField(max_length=255)
    kind = forms.ChoiceField(choices=Kind.choices, label="Type", initial=Kind.MANUAL)
    audience = forms.ChoiceField(
        choices=Audience.choices, required=False, initial=Audience.SEGMENT, label="Send to"
    )
    trigger = forms.ChoiceField(
        choices=[("", "Choose…"), *Trigger.choices], required=False, label="Send when"
    )
    segment = SegmentChoiceField(
        queryset=Segment.objects.none(), required=False, empty_label="Choose a segment…"
    )
    customers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Customers",
        help_text="Customer ids or source ids, one per line.",
    )
    custom_event = forms.CharField(
        max_length=255, required=False, label="Custom event name", help_text="e.g. signed_up"
    )
    delay_minutes = forms.IntegerField(
        min_value=0,
        max_value=60 * 24 * 30,
        required=False,
        initial=0,
        label="Delay (minutes)",
        help_text="Send this long after the trigger; 0 sends at once.",
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="No code: a message only",
        label="Codes from campaign",
        help_text="Each recipient gets a code of this campaign, published to them.",
    )
    subject = forms.CharField(max_length=255, required=False)
    body_html = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        required=False,
        label="HTML body",
    )
    body_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        label="Text",
        help_text="The plain-text email body, the text message, or the webhook's text.",
    )
    webhook_url = forms.URLField(
        max_length=500, required=False, assume_scheme="https", label="Webhook URL"
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["segment"].queryset = Segment.objects.filter(project=project).order_by("name")
        self.fields["campaign"].queryset = (
            Campaign.objects.filter(project=project)
            .exclude(campaign_type=CampaignType.PROMOTION)
            .order_by("name")
        )
        self.fields["segment"].to_field_name = "public_id"
        self.fields["campaign"].to_field_name = "public_id"

    def clean_customers(self) -> list[Customer]:
        refs = list(
            dict.fromkeys(
                line.strip() for line in self.cleaned_data["customers"].splitlines() if line.strip()
            )
        )
        if len(refs) > MAX_CUSTOMERS:
            raise forms.ValidationError(f"At most {MAX_CUSTOMERS:,} customers; use a segment.")
        customers = list(
            Customer.objects.filter(project=self.project).filter(
                Q(public_id__in=refs) | Q(source_id__in=refs)
            )
        )
        known = {c.public_id for c in customers} | {c.source_id for c in customers}
        unknown = [ref for ref in refs if ref not in known]
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise forms.ValidationError(f"No such customer: {shown}")
        return customers

    def clean(self):
        data = super().clean()
        errors = check_templates(
            subject=data.get("subject") or "",
            html=data.get("body_html") or "",
            text=data.get("body_text") or "",
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return data


def customer_refs(distribution) -> str:
    """The list of customers as the form shows it."""
    rows = distribution.customers.values_list("source_id", "public_id")[:MAX_CUSTOMERS]
    return "\n".join(source_id or public_id for source_id, public_id in rows)


def initial_for(distribution) -> dict:
    return {
        "name": distribution.name,
        "kind": distribution.kind,
        "audience": distribution.audience or Audience.SEGMENT,
        "trigger": distribution.trigger,
        "segment": distribution.segment.public_id if distribution.segment else "",
        "customers": customer_refs(distribution) if distribution.pk else "",
        "custom_event": distribution.custom_event,
        "delay_minutes": distribution.delay_minutes,
        "channel": distribution.channel,
        "campaign": distribution.campaign.public_id if distribution.campaign else "",
        "subject": distribution.subject,
        "body_html": distribution.body_html,
        "body_text": distribution.body_text,
        "webhook_url": distribution.webhook_url,
    }


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        required=False,
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
