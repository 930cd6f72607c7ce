import pytest

from apps.imports.services import (
    import_confirm,
    import_create,
    import_set_mapping,
    import_start_dry_run,
)
from tests.imports.helpers import as_upload


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and rejected-row files go to a temporary MEDIA_ROOT, never var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def upload(project):
    """`upload(csv_text, kind=...)` → an Import waiting for its mapping (the default one)."""

    def make(data, *, kind="customers", name="file.csv", project=project):
        return import_create(project=project, kind=kind, upload=as_upload(data, name))

    return make


@pytest.fixture
def checked(upload):
    """`checked(csv_text, kind=..., mapping=None)` → the Import after its dry run."""

    def make(data, *, kind="customers", mapping=None, **kwargs):
        imp = upload(data, kind=kind, **kwargs)
        imp = import_set_mapping(imp=imp, mapping=mapping or imp.mapping)
        return import_start_dry_run(imp=imp)

    return make


@pytest.fixture
def apply(django_capture_on_commit_callbacks):
    """`apply(imp)` → confirm and run the Celery task (eager) after commit; the fresh Import."""

    def run(imp):
        with django_capture_on_commit_callbacks(execute=True):
            import_confirm(imp=imp)
        imp.refresh_from_db()
        return imp

    return run


@pytest.fixture
def imported(checked, apply):
    """`imported(csv_text, ...)` → dry run, confirm and apply in one go."""

    def make(data, **kwargs):
        return apply(checked(data, **kwargs))

    return make
