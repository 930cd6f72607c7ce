"""Writes for projects, members, invitations and API keys."""

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.errors import ApplicationError

from .models import ROLE_RANK, ApiKey, ApiKeyKind, Invitation, Membership, Project, Role

INVITATION_TTL = timedelta(days=7)

User = get_user_model()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Projects ----------------------------------------------------------------------------------------


def project_create(
    *,
    name: str,
    owner,
    currency: str = "USD",
    time_zone: str = "UTC",
    codes_case_sensitive: bool = False,
) -> Project:
    with transaction.atomic():
        project = Project(
            name=name,
            currency=currency,
            time_zone=time_zone,
            codes_case_sensitive=codes_case_sensitive,
        )
        project.full_clean()
        project.save()
        Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    return project


def project_update(
    *,
    project: Project,
    name: str,
    currency: str,
    time_zone: str,
    allowed_origins: list[str],
    public_assets: bool = False,
    client_redemptions_enabled: bool | None = None,
    client_rate_limit: int | None = None,
    client_rate_window: int | None = None,
) -> Project:
    project.name = name
    project.currency = currency
    project.time_zone = time_zone
    project.allowed_origins = allowed_origins
    project.public_assets = public_assets
    fields = ["name", "currency", "time_zone", "allowed_origins", "public_assets", "updated_at"]
    for field, value in (
        ("client_redemptions_enabled", client_redemptions_enabled),
        ("client_rate_limit", client_rate_limit),
        ("client_rate_window", client_rate_window),
    ):
        if value is not None:
            setattr(project, field, value)
            fields.append(field)
    project.full_clean()
    project.save(update_fields=fields)
    return project


# Users and members -------------------------------------------------------------------------------


def user_get_or_create(*, email: str, password: str | None = None, first_name: str = ""):
    """Users log in with their email address, which is also their username."""
    email = User.objects.normalize_email(email).lower()
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "first_name": first_name}
    )
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, created


def _owners_locked(project: Project) -> list[Membership]:
    # Lock the project's owner rows in pk order so two concurrent demotions cannot both pass the
    # "another owner remains" check.
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.OWNER)
        .order_by("pk")
    )


def _check_can_manage(*, target: Membership, by: Membership, new_role: str | None = None) -> None:
    if by.project_id != target.project_id or not by.can_admin:
        raise ApplicationError(
            "Only admins and owners can manage members.", key="forbidden", code=403
        )
    touches_owner = target.role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and by.role != Role.OWNER:
        raise ApplicationError(
            "Only an owner can grant, change or remove the owner role.", code=403
        )


def membership_set_role(*, membership: Membership, role: str, by: Membership) -> Membership:
    if role not in Role.values:
        raise ApplicationError(f"Unknown role “{role}”.")
    _check_can_manage(target=membership, by=by, new_role=role)
    with transaction.atomic():
        owners = _owners_locked(membership.project)
        membership.refresh_from_db()
        if membership.role == Role.OWNER and role != Role.OWNER and len(owners) <= 1:
            raise ApplicationError(
                "A project needs at least one owner; make someone else owner first."
            )
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    return membership


def membership_remove(*, membership: Membership, by: Membership) -> None:
    if membership.pk != by.pk:
        _check_can_manage(target=membership, by=by)
    with transaction.atomic():
        owners = _owners_locked(membership.project)
        membership.refresh_from_db()
        if membership.role == Role.OWNER and len(owners) <= 1:
            raise ApplicationError("The last owner cannot leave; make someone else owner first.")
        membership.delete()


# Invitations -------------------------------------------------------------------------------------


def invitation_create(
    *, project: Project, email: str, role: str, by: Membership, now: datetime | None = None
) -> tuple[Invitation, str]:
    """Invite `email` to the project and email the link. Re-inviting replaces the open invitation.

    Returns the invitation and its token (the token is in the email and nowhere else).
    """
    now = now or timezone.now()
    email = User.objects.normalize_email(email).lower()
    if ROLE_RANK[Role(role)] > ROLE_RANK[Role(by.role)]:
        raise ApplicationError("You cannot invite someone with a higher role than yours.", code=403)
    if not by.can_admin:
        raise ApplicationError("Only admins and owners can invite members.", code=403)
    if Membership.objects.filter(project=project, user__username=email).exists():
        raise ApplicationError(
            f"{email} is already a member of {project.name}.", key="duplicate_found"
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Invitation.objects.filter(project=project, email=email, accepted_at__isnull=True).delete()
        invitation = Invitation.objects.create(
            project=project,
            email=email,
            role=role,
            token_hash=hash_secret(token),
            invited_by=by.user,
            expires_at=now + INVITATION_TTL,
        )
        transaction.on_commit(lambda: _send_invitation_email(invitation, token))
    return invitation, token


def invitation_accept_url(token: str) -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse("invitation_accept", args=[token])


def _send_invitation_email(invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "project": invitation.project,
        "inviter": invitation.invited_by,
        "url": invitation_accept_url(token),
    }
    send_mail(
        subject=f"You are invited to {invitation.project.name}",
        message=render_to_string("projects/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
        html_message=render_to_string("projects/email/invitation.html", context),
    )


def invitation_get_open(*, token: str, now: datetime | None = None) -> Invitation | None:
    now = now or timezone.now()
    return (
        Invitation.objects.select_related("project")
        .filter(token_hash=hash_secret(token), accepted_at__isnull=True, expires_at__gt=now)
        .first()
    )


def invitation_accept(*, invitation: Invitation, user, now: datetime | None = None) -> Membership:
    now = now or timezone.now()
    if user.email.lower() != invitation.email.lower():
        raise ApplicationError("This invitation was sent to another email address.", code=403)
    with transaction.atomic():
        # Claim the invitation exactly once, even if the link is clicked twice at the same time.
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=now
        )
        if not claimed:
            raise ApplicationError("This invitation has already been used.", key="already_used")
        membership, _ = Membership.objects.get_or_create(
            project=invitation.project, user=user, defaults={"role": invitation.role}
        )
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


# API keys ----------------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def api_key_create(
    *,
    project: Project,
    name: str,
    kind: str = ApiKeyKind.SERVER,
    allowed_origins: list[str] | None = None,
    created_by=None,
    token: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key pair. Returns the key and its secret token, which is never stored."""
    token = token or _new_token()
    api_key = ApiKey.objects.create(
        project=project,
        name=name,
        kind=kind,
        app_id=str(uuid.uuid4()),
        secret_hash=hash_secret(token),
        secret_hint=token[-4:],
        allowed_origins=allowed_origins or [],
        created_by=created_by,
    )
    return api_key, token


def api_key_regenerate(*, api_key: ApiKey, token: str | None = None) -> str:
    """Rotate the secret of an active key; the app id stays, the old token stops working."""
    if not api_key.is_active:
        raise ApplicationError("A revoked key cannot be regenerated; create a new key.")
    token = token or _new_token()
    api_key.secret_hash = hash_secret(token)
    api_key.secret_hint = token[-4:]
    api_key.save(update_fields=["secret_hash", "secret_hint", "updated_at"])
    return token


def api_key_revoke(*, api_key: ApiKey, now: datetime | None = None) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    api_key.refresh_from_db(fields=["revoked_at"])


def api_key_verify(*, app_id: str, token: str, kind: str) -> ApiKey | None:
    """The key for these credentials, or None. Constant-time compare of the token's hash."""
    api_key = (
        ApiKey.objects.select_related("project")
        .filter(app_id=app_id, kind=kind, revoked_at__isnull=True)
        .first()
    )
    presented = hash_secret(token)
    expected = api_key.secret_hash if api_key else hash_secret(_new_token())
    if not hmac.compare_digest(presented, expected) or api_key is None:
        return None
    return api_key


LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_touch(*, api_key: ApiKey, now: datetime | None = None) -> None:
    """Record use at most once a minute: one conditional UPDATE, not a write per request (and no
    statement at all while the loaded row says it was recorded within the minute)."""
    now = now or timezone.now()
    if api_key.last_used_at is not None and api_key.last_used_at > now - LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).exclude(
        last_used_at__gt=now - LAST_USED_RESOLUTION
    ).update(last_used_at=now)
    api_key.last_used_at = now  # a cached key must not try again on every request
