from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.projects.models import Role
from apps.projects.permissions import member_required

from .forms import PropertyForm, PropertyFormSet
from .models import MetadataSchema, Resource
from .services import metadata_schema_save


@member_required()
def schema_list(request):
    schemas = {s.related_object: s for s in MetadataSchema.objects.filter(project=request.project)}
    rows = [(value, label, schemas.get(value)) for value, label in Resource.choices]
    return render(request, "metadata/schema_list.html", {"rows": rows, "tab": "metadata"})


@member_required(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def schema_edit(request, resource: str):
    if resource not in Resource.values:
        raise Http404("No such resource")
    schema = MetadataSchema.objects.filter(project=request.project, related_object=resource).first()
    properties = schema.properties if schema else {}
    initial = [PropertyForm.initial_from(key, spec) for key, spec in properties.items()]
    formset = PropertyFormSet(request.POST or None, initial=initial, prefix="keys")
    allow_defined_only = schema.allow_defined_only if schema else False
    if request.method == "POST":
        allow_defined_only = request.POST.get("allow_defined_only") == "on"
        if formset.is_valid():
            new_properties, duplicate = {}, None
            for form in formset:
                if not form.has_changed() or form.cleaned_data.get("DELETE"):
                    continue
                key, spec = form.as_property()
                if key in new_properties:
                    duplicate = key
                    form.add_error("key", f"“{key}” is defined twice.")
                new_properties[key] = spec
            if duplicate is None:
                metadata_schema_save(
                    project=request.project,
                    resource=resource,
                    properties=new_properties,
                    allow_defined_only=allow_defined_only,
                )
                messages.success(request, f"Metadata schema of {Resource(resource).label} saved.")
                return redirect("metadata:edit", resource=resource)
    context = {
        "tab": "metadata",
        "resource": Resource(resource),
        "formset": formset,
        "allow_defined_only": allow_defined_only,
    }
    return render(request, "metadata/schema_edit.html", context)
