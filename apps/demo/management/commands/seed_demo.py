import hashlib
import hmac

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.demo.data import seed_project_data
from apps.demo.redemptions import seed_redemptions
from apps.projects.management.commands.create_api_key import print_key_headers
from apps.projects.models import ApiKey, ApiKeyKind, Membership, Project, Role
from apps.projects.services import (
    api_key_create,
    api_key_regenerate,
    hash_secret,
    project_create,
    user_get_or_create,
)

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (the printed demo login)
DEMO_PROJECTS = [
    {"name": "Demo Shop", "currency": "USD", "time_zone": "America/New_York"},
    {"name": "Demo Shop EU", "currency": "EUR", "time_zone": "Europe/Berlin"},
]
DEMO_VIEWER = "viewer@example.com"
DEMO_KEY_NAME = "Demo server key"


def demo_token(app_id: str) -> str:
    """The demo key's token, derived from SECRET_KEY so every run can print it again while the
    database keeps only its hash. A changed SECRET_KEY rotates it on the next run."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"seed_demo:{app_id}".encode(), hashlib.sha256)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Create (or complete) the demo projects, users and API keys. Safe to run repeatedly."

    def handle(self, *args, **options):
        with transaction.atomic():
            owner, created = user_get_or_create(
                email=DEMO_EMAIL, password=DEMO_PASSWORD, first_name="Demo"
            )
            viewer, _ = user_get_or_create(
                email=DEMO_VIEWER, password=DEMO_PASSWORD, first_name="Vera"
            )
            projects = [self._project(owner, spec) for spec in DEMO_PROJECTS]
            Membership.objects.get_or_create(
                project=projects[0], user=viewer, defaults={"role": Role.VIEWER}
            )
            api_key, token = self._server_key(projects[0])
            seed_project_data(projects[0])
            seed_redemptions(projects[0])

        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"Dashboard: {settings.SITE_URL}/")
        password = (
            DEMO_PASSWORD if created or owner.check_password(DEMO_PASSWORD) else "(changed by you)"
        )
        self.stdout.write(
            f"Login: {DEMO_EMAIL} / {password}   (viewer: {DEMO_VIEWER}, same password)"
        )
        self.stdout.write(f"Server API key of {projects[0].name} ({projects[0].public_id}):")
        print_key_headers(self.stdout, api_key, token)

    def _project(self, owner, spec) -> Project:
        existing = Project.objects.filter(
            name=spec["name"], memberships__user=owner, memberships__role=Role.OWNER
        ).first()
        return existing or project_create(owner=owner, **spec)

    def _server_key(self, project):
        api_key = ApiKey.objects.filter(
            project=project, name=DEMO_KEY_NAME, kind=ApiKeyKind.SERVER, revoked_at__isnull=True
        ).first()
        if api_key is None:
            api_key, _ = api_key_create(project=project, name=DEMO_KEY_NAME)
        token = demo_token(api_key.app_id)
        if api_key.secret_hash != hash_secret(token):
            api_key_regenerate(api_key=api_key, token=token)
        return api_key, token
