import factory

from apps.imports.models import Import, ImportStatus
from tests.projects.factories import ProjectFactory


class ImportFactory(factory.django.DjangoModelFactory):
    """An import row without a stored file (for access tests); services create real ones."""

    class Meta:
        model = Import

    project = factory.SubFactory(ProjectFactory)
    kind = "customers"
    status = ImportStatus.VALIDATED
    original_name = "customers.csv"
    header = ["source_id", "email"]
    mapping = ["source_id", "email"]
    dry_run_counts = {"total": 1, "new": 1, "updated": 0, "unchanged": 0, "invalid": 0}
