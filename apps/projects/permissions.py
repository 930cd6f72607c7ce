from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from .models import ROLE_RANK, Role

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def member_required(read: str = Role.VIEWER, write: str = Role.MARKETER):
    """Dashboard access: the user must be a member of the current project.

    Reading needs `read`, any other method needs `write`. Writes always need at least a
    marketer, so a viewer can never change anything, whatever the template shows.
    """
    if ROLE_RANK[Role(write)] < ROLE_RANK[Role.MARKETER]:
        raise ValueError("Viewers never write; `write` must be marketer or higher")

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.membership is None:
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect("/projects/new/")
                return redirect("projects:create")
            needed = read if request.method in SAFE_METHODS else write
            if not request.membership.has_role(needed):
                raise PermissionDenied(f"This needs the {Role(needed).label.lower()} role.")
            return view(request, *args, **kwargs)

        wrapped.member_required = {"read": read, "write": write}
        return wrapped

    return decorator
