from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.shortcuts import get_for_project_or_404
from apps.jobs.selectors import job_list

from . import selectors, services
from .forms import (
    AcceptInvitationForm,
    ApiKeyForm,
    InvitationForm,
    ProjectCreateForm,
    ProjectForm,
    RoleForm,
)
from .middleware import SESSION_PROJECT_KEY
from .models import ApiKey, ApiKeyKind, Invitation, Membership, Role
from .permissions import member_required


def _redirect(request, to: str, *args):
    url = reverse(to, args=args)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@member_required()
def dashboard(request):
    context = {
        "member_count": selectors.member_list(project=request.project).count(),
        "jobs": job_list(project=request.project)[:5],
    }
    return render(request, "projects/dashboard.html", context)


@require_http_methods(["GET", "POST"])
def project_create(request):
    form = ProjectCreateForm(request.POST or None, initial={"currency": "USD", "time_zone": "UTC"})
    if request.method == "POST" and form.is_valid():
        project = services.project_create(owner=request.user, **form.cleaned_data)
        request.session[SESSION_PROJECT_KEY] = project.public_id
        messages.success(request, f"Project “{project.name}” created. You are its owner.")
        return _redirect(request, "projects:dashboard")
    return render(request, "projects/project_create.html", {"form": form})


@require_POST
def project_switch(request, project_id: str):
    membership = (
        Membership.objects.select_related("project")
        .filter(user=request.user, project__public_id=project_id)
        .first()
    )
    if membership is None:
        raise Http404("No such project")
    request.session[SESSION_PROJECT_KEY] = membership.project.public_id
    return _redirect(request, "projects:dashboard")


@member_required(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def settings_general(request):
    project = request.project
    initial = {
        "name": project.name,
        "currency": project.currency,
        "time_zone": project.time_zone,
        "allowed_origins": project.allowed_origins,
        "public_assets": project.public_assets,
        "client_redemptions_enabled": project.client_redemptions_enabled,
        "client_rate_limit": project.client_rate_limit,
        "client_rate_window": project.client_rate_window,
    }
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.project_update(project=project, **form.cleaned_data)
        messages.success(request, "Project settings saved.")
        return _redirect(request, "projects:settings")
    return render(request, "projects/settings_general.html", {"form": form, "tab": "general"})


def _render_members(request, invite_form=None):
    context = {
        "tab": "members",
        "members": selectors.member_list(project=request.project),
        "invitations": selectors.invitation_list_open(project=request.project),
        "invite_form": invite_form or InvitationForm(inviter_role=request.membership.role),
        "roles": Role.choices,
    }
    return render_page_or_partial(request, "projects/members.html", context, partial="members")


@member_required(write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def members(request):
    """The member list; POST invites someone by email."""
    form = None
    if request.method == "POST":
        form = InvitationForm(request.POST, inviter_role=request.membership.role)
        if form.is_valid():
            try:
                services.invitation_create(
                    project=request.project, by=request.membership, **form.cleaned_data
                )
            except ApplicationError as exc:
                form.add_error("email", exc.message)
            else:
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
                form = None
    return _render_members(request, form)


@member_required(write=Role.ADMIN)
@require_POST
def member_role(request, member_id: str):
    membership = get_for_project_or_404(Membership, request.project, public_id=member_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_set_role(
                membership=membership, role=form.cleaned_data["role"], by=request.membership
            )
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display()}."
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return _render_members(request)


@member_required()
@require_POST
def member_remove(request, member_id: str):
    """Admins remove members; marketers and admins may also leave (viewers never write)."""
    membership = get_for_project_or_404(Membership, request.project, public_id=member_id)
    leaving = membership.pk == request.membership.pk
    try:
        services.membership_remove(membership=membership, by=request.membership)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _render_members(request)
    if leaving:
        request.session.pop(SESSION_PROJECT_KEY, None)
        messages.success(request, f"You left {request.project.name}.")
        return _redirect(request, "projects:dashboard")
    messages.success(request, f"{membership.user.email} was removed.")
    return _render_members(request)


@member_required(write=Role.ADMIN)
@require_POST
def invitation_revoke(request, invitation_id: str):
    invitation = get_for_project_or_404(Invitation, request.project, public_id=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Invitation of {invitation.email} revoked.")
    return _render_members(request)


def _render_api_keys(request, **extra):
    """The key list; `new_token` in `extra` is the only place a secret is ever shown."""
    keys = selectors.api_key_list(project=request.project)
    new_key = extra.get("new_key")
    example = (
        new_key
        if new_key is not None and new_key.kind == ApiKeyKind.SERVER
        else next((k for k in keys if k.is_active and k.kind == ApiKeyKind.SERVER), None)
    )
    context = {
        "tab": "api_keys",
        "api_keys": keys,
        "form": ApiKeyForm(),
        # the "call the API" snippets: this server and a server key of the project (never its
        # secret: that is shown once, in the alert above them)
        "api_base": request.build_absolute_uri("/").rstrip("/"),
        "example_key": example,
        **extra,
    }
    response = render_page_or_partial(request, "projects/api_keys.html", context, partial="keys")
    response["Cache-Control"] = "no-store"
    return response


@member_required(read=Role.ADMIN, write=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """Lists keys; POST creates one and shows its secret once, in this response only."""
    extra = {}
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            api_key, token = services.api_key_create(
                project=request.project, created_by=request.user, **form.cleaned_data
            )
            extra = {"new_key": api_key, "new_token": token}
        else:
            extra = {"form": form}
    return _render_api_keys(request, **extra)


@member_required(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def api_key_regenerate(request, key_id: str):
    api_key = get_for_project_or_404(ApiKey, request.project, public_id=key_id)
    extra = {}
    try:
        token = services.api_key_regenerate(api_key=api_key)
        extra = {"new_key": api_key, "new_token": token}
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _render_api_keys(request, **extra)


@member_required(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def api_key_revoke(request, key_id: str):
    api_key = get_for_project_or_404(ApiKey, request.project, public_id=key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Key “{api_key.name}” revoked; requests with it now get 401.")
    return _render_api_keys(request)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    invitation = services.invitation_get_open(token=token)
    if invitation is None:
        return render(request, "projects/invitation_invalid.html", status=404)
    context = {"invitation": invitation}
    if request.user.is_authenticated:
        if request.user.email.lower() != invitation.email:
            return render(request, "projects/invitation_other_user.html", context, status=403)
        if request.method == "POST":
            return _accept(request, invitation, request.user)
        return render(request, "projects/invitation_accept.html", context)
    from django.contrib.auth import get_user_model

    if get_user_model().objects.filter(username=invitation.email).exists():
        context["login_url"] = f"{reverse('login')}?next={request.path}"
        return render(request, "projects/invitation_accept.html", context)
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user, _ = services.user_get_or_create(
            email=invitation.email,
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return _accept(request, invitation, user)
    context["form"] = form
    return render(request, "projects/invitation_accept.html", context)


def _accept(request, invitation: Invitation, user):
    try:
        membership = services.invitation_accept(invitation=invitation, user=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("projects:dashboard")
    request.session[SESSION_PROJECT_KEY] = membership.project.public_id
    messages.success(request, f"Welcome to {membership.project.name}.")
    return redirect("projects:dashboard")
