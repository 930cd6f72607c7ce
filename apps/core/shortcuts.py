from django.db import models
from django.http import Http404


def get_for_project_or_404(
    model_or_queryset: type[models.Model] | models.QuerySet, project, **lookup
) -> models.Model:
    """Fetch one object of `project`, or 404. The only way views look objects up by id.

    An object of another project is indistinguishable from one that does not exist.
    """
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, models.QuerySet)
        else model_or_queryset._default_manager.all()
    )
    if project is None:
        raise Http404("No project selected")
    try:
        return queryset.get(project=project, **lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc
