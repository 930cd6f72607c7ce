from .selectors import membership_for_user

SESSION_PROJECT_KEY = "project_id"


class CurrentProjectMiddleware:
    """Puts the current project and the user's membership in it on the request.

    The project lives in the session (set by the switcher) and is re-checked against the
    membership table on every request, so a removed member loses access at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.project = None
        request.membership = None
        if request.user.is_authenticated:
            chosen = request.session.get(SESSION_PROJECT_KEY)
            membership = membership_for_user(user=request.user, project_public_id=chosen)
            if membership is not None:
                request.project = membership.project
                request.membership = membership
                if chosen != membership.project.public_id:
                    request.session[SESSION_PROJECT_KEY] = membership.project.public_id
        return self.get_response(request)
