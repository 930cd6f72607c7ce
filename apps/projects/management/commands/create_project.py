from django.core.management.base import BaseCommand, CommandError

from apps.core.money import is_valid_currency
from apps.projects.services import project_create, user_get_or_create


class Command(BaseCommand):
    help = "Create a project owned by EMAIL (a new user gets no password yet). Prints the id."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--owner", required=True, help="Owner's email; the user is created if missing."
        )
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--time-zone", default="UTC")

    def handle(self, *args, name, owner, currency, time_zone, **options):
        currency = currency.upper()
        if not is_valid_currency(currency):
            raise CommandError(f"Unknown currency {currency!r}; use an ISO 4217 code such as USD.")
        if "@" not in owner:
            raise CommandError(f"--owner must be an email address, got {owner!r}.")
        user, _ = user_get_or_create(email=owner)
        try:
            project = project_create(name=name, owner=user, currency=currency, time_zone=time_zone)
        except Exception as exc:  # full_clean's ValidationError, with the field named
            raise CommandError(str(exc)) from exc
        self.stdout.write(project.public_id)
