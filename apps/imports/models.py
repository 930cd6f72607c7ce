"""CSV/XLSX imports: the uploaded file, its column mapping, the dry-run report and the applied
result. Rows are never stored in the database, only per-row problems (`ImportIssue`) and the
batches that were committed (`ImportBatch`, which makes a re-delivered apply task resume instead of
repeat); the dry run's validated rows are kept in a file beside the upload (`staged_file`)."""

from django.conf import settings
from django.db import models

from apps.core.models import ProjectScopedModel, PublicIdField


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    PRODUCTS = "products", "Products"
    SKUS = "skus", "SKUs"
    ORDERS = "orders", "Orders"
    VOUCHERS = "vouchers", "Vouchers"


class ImportStatus(models.TextChoices):
    MAPPING = "MAPPING", "Waiting for column mapping"
    VALIDATING = "VALIDATING", "Checking the file"
    VALIDATED = "VALIDATED", "Checked; waiting for confirmation"
    IMPORTING = "IMPORTING", "Importing"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


class Phase(models.TextChoices):
    DRY_RUN = "dry_run", "Dry run"
    APPLY = "apply", "Import"


def import_upload_to(instance: "Import", filename: str) -> str:
    return f"imports/{instance.project.public_id}/{instance.public_id}/{filename}"


class Import(ProjectScopedModel):
    public_id = PublicIdField(prefix="imp")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    # The stored file is always CSV (UTF-8); an uploaded XLSX is converted once at upload.
    file = models.FileField(upload_to=import_upload_to, max_length=500, blank=True)
    original_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8, default="csv")  # of the upload: csv | xlsx
    file_size = models.PositiveBigIntegerField(default=0)
    delimiter = models.CharField(max_length=1, default=",")
    line_count = models.PositiveBigIntegerField(default=0, help_text="Physical lines, header too")
    header = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(
        default=list, blank=True, help_text='One target per column: "email", "metadata.tier", ""'
    )
    dry_run_counts = models.JSONField(default=dict, blank=True)
    result_counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    rejected_file = models.FileField(upload_to=import_upload_to, max_length=500, blank=True)
    # The dry run's validated, encoded batches (`services.staged`), beside the upload: the import
    # loads them instead of parsing the file again. `staged_info` holds their fingerprint (file,
    # mapping, metadata schema, batch size), byte size and batch count; a mismatch means "parse".
    staged_file = models.FileField(upload_to=import_upload_to, max_length=500, blank=True)
    staged_info = models.JSONField(default=dict, blank=True)
    dry_run_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="import_project_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import {self.public_id} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.VALIDATING, ImportStatus.IMPORTING)

    @property
    def current_job(self):
        return (
            self.job
            if self.status in (ImportStatus.IMPORTING, ImportStatus.DONE)
            else (self.dry_run_job)
        )

    @property
    def report_phase(self) -> str:
        return Phase.APPLY if self.status == ImportStatus.DONE else Phase.DRY_RUN

    @property
    def counts(self) -> dict:
        return self.result_counts if self.status == ImportStatus.DONE else self.dry_run_counts


class ImportBatch(models.Model):
    """One committed batch of an import. Written in the same transaction as the batch's rows, so
    "this batch is done" and "its rows are written" are never out of step."""

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    first_line = models.PositiveBigIntegerField()
    last_line = models.PositiveBigIntegerField()
    records = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["import_run", "number"], name="import_batch_once")
        ]
        ordering = ["import_run", "number"]

    def __str__(self) -> str:
        return f"Batch {self.number} of {self.import_run_id}"


class ImportIssue(models.Model):
    """A problem with one row: the file's line number (header = line 1), column and reason."""

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="issues")
    phase = models.CharField(max_length=8, choices=Phase.choices)
    line = models.PositiveBigIntegerField()
    column = models.CharField(max_length=255, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["line", "id"]
        indexes = [
            models.Index(fields=["import_run", "phase", "line"], name="import_issue_line"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"
