from django.core.management.base import BaseCommand, CommandError

from apps.projects.models import ApiKeyKind, Project
from apps.projects.origins import normalize_origin
from apps.projects.services import api_key_create


def print_key_headers(stdout, api_key, token) -> None:
    """Exactly two lines, ready to paste as HTTP headers."""
    if api_key.kind == ApiKeyKind.CLIENT:
        stdout.write(f"X-Client-Application-Id: {api_key.app_id}")
        stdout.write(f"X-Client-Token: {token}")
    else:
        stdout.write(f"X-App-Id: {api_key.app_id}")
        stdout.write(f"X-App-Token: {token}")


def resolve_project(value: str) -> Project:
    by_id = Project.objects.filter(public_id=value).first()
    if by_id:
        return by_id
    by_name = list(Project.objects.filter(name=value)[:2])
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        raise CommandError(f"Several projects are named {value!r}; pass the project id (proj_…).")
    raise CommandError(f"No project with id or name {value!r}.")


class Command(BaseCommand):
    help = "Create an API key and print its two headers. The token is shown only this once."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="Project id (proj_…) or name")
        parser.add_argument("--name", default=None)
        parser.add_argument("--client", action="store_true", help="A client-side key")
        parser.add_argument(
            "--origin", action="append", default=[], help="Allowed origin (client keys; repeatable)"
        )

    def handle(self, *args, project, name, client, origin, **options):
        target = resolve_project(project)
        if origin and not client:
            raise CommandError("--origin applies to client keys; add --client.")
        try:
            origins = [normalize_origin(value) for value in origin]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        kind = ApiKeyKind.CLIENT if client else ApiKeyKind.SERVER
        api_key, token = api_key_create(
            project=target,
            kind=kind,
            name=name or ("Client key" if client else "Server key"),
            allowed_origins=origins,
        )
        print_key_headers(self.stdout, api_key, token)
