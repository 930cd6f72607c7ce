import csv
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Role
from apps.projects.permissions import member_required

from . import services
from .columns import columns
from .forms import ImportUploadForm, MappingForm
from .models import Import, ImportKind, ImportStatus
from .parsing import FileProblem

PAGE_SIZE = 25
ISSUES_PER_PAGE = 50
PREVIEW_ROWS = 3


def _get_import_or_404(request, import_id: str) -> Import:
    queryset = Import.objects.select_related("job", "dry_run_job", "created_by")
    return get_for_project_or_404(queryset, request.project, public_id=import_id)


@member_required()
def import_list(request):
    imports = Import.objects.filter(project=request.project).select_related("created_by")
    page = paginate(imports, request.GET.get("page"), PAGE_SIZE)
    context = {"page": page, "polling": any(imp.is_running for imp in page)}
    return render_page_or_partial(request, "imports/import_list.html", context, partial="results")


@member_required(read=Role.MARKETER)
def import_new(request):
    initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in ImportKind else {}
    form = ImportUploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            imp = services.import_create(
                project=request.project,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                created_by=request.user,
            )
        except ApplicationError as exc:
            form.add_error("file" if exc.details == "file" else None, exc.message)
        else:
            return redirect("imports:mapping", import_id=imp.public_id)
    catalog = [(kind, label, columns(kind)) for kind, label in ImportKind.choices]
    return render(request, "imports/import_new.html", {"form": form, "catalog": catalog})


def _preview(imp: Import) -> list[list[str]]:
    """The first rows of the file, column by column, so the mapping page shows real values."""
    rows = []
    if imp.file:
        try:
            handle, records = services.open_records(imp)
            try:
                for _, cells in records:
                    rows.append(cells)
                    if len(rows) >= PREVIEW_ROWS:
                        break
            finally:
                handle.close()
        except (FileProblem, OSError):
            rows = []  # the dry run reports what is wrong with the file
    return [[row[i] if i < len(row) else "" for row in rows] for i in range(len(imp.header))]


@member_required(read=Role.MARKETER)
def import_mapping(request, import_id: str):
    imp = _get_import_or_404(request, import_id)
    if imp.status not in services.EDITABLE:
        if request.method == "POST":
            messages.error(request, "This import can no longer be changed.")
        return redirect("imports:detail", import_id=imp.public_id)
    form = MappingForm(request.POST or None, imp=imp)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_set_mapping(imp=imp, mapping=form.mapping())
            services.import_start_dry_run(imp=imp, created_by=request.user)
        except ApplicationError as exc:
            for error in exc.extra.get("errors") or [exc.message]:
                form.add_error(None, error)
        else:
            return redirect("imports:detail", import_id=imp.public_id)
    rows = zip(form.columns, _preview(imp), strict=True)
    return render(request, "imports/import_mapping.html", {"imp": imp, "form": form, "rows": rows})


@member_required()
def import_detail(request, import_id: str):
    imp = _get_import_or_404(request, import_id)
    issues = paginate(
        imp.issues.filter(phase=imp.report_phase), request.GET.get("page"), ISSUES_PER_PAGE
    )
    counts = imp.counts
    valid = counts.get("total", 0) - counts.get("invalid", 0)
    context = {
        "imp": imp,
        "job": imp.current_job,
        "issues": issues,
        "counts": counts,
        "valid": valid,
        "can_confirm": imp.status == ImportStatus.VALIDATED and valid > 0,
    }
    return render_page_or_partial(request, "imports/import_detail.html", context, partial="import")


@member_required()
@require_POST
def import_confirm(request, import_id: str):
    imp = _get_import_or_404(request, import_id)
    try:
        services.import_confirm(imp=imp, created_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Import started: valid rows are being written.")
    # htmx follows the redirect with HX-Request set, so it gets the detail partial.
    return redirect("imports:detail", import_id=imp.public_id)


@member_required()
def import_rejected(request, import_id: str):
    imp = _get_import_or_404(request, import_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not imp.rejected_file:
        raise Http404("This import has no rejected rows.")
    stem = Path(imp.original_name).stem or "import"
    return FileResponse(
        imp.rejected_file.open("rb"),
        as_attachment=True,
        filename=f"{stem}-rejected-rows.csv",
        content_type="text/csv; charset=utf-8",
    )


@member_required()
def import_template(request):
    """An empty CSV with every known column of a kind (plus one metadata example)."""
    kind = request.GET.get("kind")
    if kind not in ImportKind.values:
        kind = ImportKind.CUSTOMERS
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    response.write("\ufeff")
    names = [column.name for column in columns(kind) if column.name != "id"]
    csv.writer(response).writerow([*names, "metadata.example"])
    return response
