import zoneinfo
from functools import cache

from django import forms
from django.contrib.auth import password_validation

from apps.core.money import currency_choices

from .models import ROLE_RANK, ApiKeyKind, Role
from .origins import normalize_origin


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class OriginsField(forms.CharField):
    """One origin per line in a textarea; cleaned to a list of normalised origins."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example.com"})

    def to_python(self, value) -> list[str]:
        lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
        origins, errors = [], []
        for line in lines:
            try:
                origin = normalize_origin(line)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if origin not in origins:
                origins.append(origin)
        if errors:
            raise forms.ValidationError(errors)
        return origins

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100)
    currency = forms.ChoiceField(choices=currency_choices)
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    allowed_origins = OriginsField(
        required=False,
        label="Allowed client origins",
        help_text="Websites allowed to call the client-side API, one per line; * for development.",
    )
    public_assets = forms.BooleanField(
        required=False,
        label="Public voucher QR codes and barcodes",
        help_text="On: anyone with a voucher's QR code or barcode URL can open the image. "
        "Off: only members of this project, or signed links.",
    )
    client_redemptions_enabled = forms.BooleanField(
        required=False,
        label="Allow redemptions with client-side keys",
        help_text="Danger zone: anyone who can read your web page's key can redeem codes from a "
        "browser. Leave off unless your storefront redeems without a backend.",
    )
    client_rate_limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        initial=5,
        label="Client-side requests per IP",
        help_text="How many /client/v1 requests one visitor's IP address may send per window.",
    )
    client_rate_window = forms.IntegerField(
        required=False, min_value=1, max_value=3600, initial=5, label="Window (seconds)"
    )

    def clean_name(self):
        return self.cleaned_data["name"].strip()


class ProjectCreateForm(ProjectForm):
    allowed_origins = None
    public_assets = None
    client_redemptions_enabled = None
    client_rate_limit = None
    client_rate_window = None
    codes_case_sensitive = forms.BooleanField(
        required=False,
        label="Voucher codes are case-sensitive",
        help_text="Off (recommended): SPRING10 and spring10 are the same code. "
        "This cannot be changed later.",
    )


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MARKETER)

    def __init__(self, *args, inviter_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        rank = ROLE_RANK[Role(inviter_role)]
        self.fields["role"].choices = [
            (value, label) for value, label in Role.choices if ROLE_RANK[Role(value)] <= rank
        ]

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, initial="Server key")
    kind = forms.ChoiceField(choices=ApiKeyKind.choices, initial=ApiKeyKind.SERVER)
    allowed_origins = OriginsField(
        required=False,
        label="Extra origins (client keys)",
        help_text="Added to the project's allowed origins for this key only.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == ApiKeyKind.SERVER and cleaned.get("allowed_origins"):
            self.add_error("allowed_origins", "Origins apply to client-side keys only.")
        return cleaned


class AcceptInvitationForm(forms.Form):
    """For someone without an account: name and a password, checked by Django's validators."""

    first_name = forms.CharField(max_length=150, label="Your name")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            from django.contrib.auth.models import User

            probe = User(
                username=self.email, email=self.email, first_name=cleaned.get("first_name")
            )
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
