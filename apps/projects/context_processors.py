from django.utils.functional import SimpleLazyObject

from .selectors import projects_for_user


def current_project(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "project": getattr(request, "project", None),
        "membership": getattr(request, "membership", None),
        "user_projects": SimpleLazyObject(lambda: list(projects_for_user(user=user))),
    }
