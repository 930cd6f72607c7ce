from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiKey, Invitation, Membership, Project


def membership_for_user(*, user, project_public_id: str | None) -> Membership | None:
    """The user's membership in the chosen project, else in their first project, else None."""
    memberships = Membership.objects.select_related("project").filter(user=user)
    if project_public_id:
        chosen = memberships.filter(project__public_id=project_public_id).first()
        if chosen:
            return chosen
    return memberships.order_by("project__name", "pk").first()


def projects_for_user(*, user) -> QuerySet[Project]:
    return Project.objects.filter(memberships__user=user).order_by("name", "pk")


def member_list(*, project: Project) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    )


def invitation_list_open(*, project: Project) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        project=project, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def api_key_list(*, project: Project) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(project=project).order_by("revoked_at", "-created_at")
