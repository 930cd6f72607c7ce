from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import PublicIdField, TimeStampedModel


class Project(TimeStampedModel):
    """The tenant. Every domain row belongs to one project; keys and members too."""

    public_id = PublicIdField(prefix="proj")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="USD")
    time_zone = models.CharField(max_length=64, default="UTC")
    # Chosen when the project is created, never changed: "SPRING10" and "spring10" are one code
    # unless codes are case-sensitive.
    codes_case_sensitive = models.BooleanField(default=False)
    # Vouchers' QR codes and barcodes open for anyone who knows the URL (else: members, or a
    # signed link).
    public_assets = models.BooleanField(default=False)
    # Voucherify's stacking rules; missing keys take Voucherify's defaults
    # (apps.engine.snapshot.StackingRules).
    stacking_rules = models.JSONField(default=dict, blank=True)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Origins allowed to call /client/v1 with client-side keys ('*' for development).",
    )
    # Client-side API (/client/v1): redeeming from a browser is a risk the project must accept;
    # each client IP may send `client_rate_limit` requests per `client_rate_window` seconds.
    client_redemptions_enabled = models.BooleanField(default=False)
    client_rate_limit = models.PositiveIntegerField(default=5)
    client_rate_window = models.PositiveIntegerField(default=5)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    VIEWER = "viewer", "Viewer"


# Higher rank can do everything a lower rank can.
ROLE_RANK = {Role.VIEWER: 0, Role.MARKETER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(TimeStampedModel):
    public_id = PublicIdField(prefix="mem")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
        ]
        ordering = ["project", "pk"]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]

    @property
    def can_write(self) -> bool:
        return self.has_role(Role.MARKETER)

    @property
    def can_admin(self) -> bool:
        return self.has_role(Role.ADMIN)


class Invitation(TimeStampedModel):
    """An emailed invitation to join a project. Only a hash of the token is stored."""

    public_id = PublicIdField(prefix="inv")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MARKETER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "email"],
                condition=Q(accepted_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.project}"


class ApiKeyKind(models.TextChoices):
    SERVER = "server", "Server-side"
    CLIENT = "client", "Client-side"


class ApiKey(TimeStampedModel):
    """An API key pair. `app_id` is public; the secret token is shown once and stored hashed.

    The token carries 256 bits of randomness, so one SHA-256 is enough (a slow password hash
    would only slow every API call down); lookups go by `app_id` and compare in constant time.
    """

    public_id = PublicIdField(prefix="key")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=8, choices=ApiKeyKind.choices, default=ApiKeyKind.SERVER)
    name = models.CharField(max_length=100)
    app_id = models.CharField(max_length=64, unique=True)
    secret_hash = models.CharField(max_length=64)
    secret_hint = models.CharField(max_length=8, help_text="Last characters of the token.")
    allowed_origins = models.JSONField(
        default=list, blank=True, help_text="Client keys: origins in addition to the project's."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
