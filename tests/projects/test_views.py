import pytest
from django.core import mail
from django.urls import reverse

from apps.projects.middleware import SESSION_PROJECT_KEY
from apps.projects.models import ApiKey, Invitation, Membership, Role
from apps.projects.services import api_key_create, invitation_create
from tests.projects.factories import PASSWORD, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_email_and_password_lands_on_the_dashboard(client, project):
    membership = MembershipFactory(project=project)
    response = client.post(
        reverse("login"), {"username": membership.user.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("projects:dashboard")
    assert b'<h1 class="h3 mb-0">Acme Shop</h1>' in response.content


def test_logout_is_a_post(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("projects:dashboard")).status_code == 302


def test_password_change(owner_client):
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-pass-42",
            "new_password2": "a-new-long-pass-42",
        },
    )
    assert response.status_code == 302
    owner_client.membership.user.refresh_from_db()
    assert owner_client.membership.user.check_password("a-new-long-pass-42")


def test_user_without_project_is_asked_to_create_one(client):
    client.force_login(UserFactory())
    response = client.get(reverse("projects:dashboard"))
    assert response["Location"] == reverse("projects:create")
    response = client.post(
        reverse("projects:create"),
        {"name": "My shop", "currency": "EUR", "time_zone": "Europe/Paris"},
    )
    assert response.status_code == 302
    dashboard = client.get(reverse("projects:dashboard"))
    assert b"My shop" in dashboard.content
    assert dashboard.context["membership"].role == Role.OWNER


def test_project_create_shows_form_errors(owner_client):
    response = owner_client.post(reverse("projects:create"), {"name": "", "currency": "XXXX"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "currency", "time_zone"}


def test_switching_projects(owner_client):
    other = MembershipFactory(
        user=owner_client.membership.user, project=ProjectFactory(name="Beta")
    )
    response = owner_client.post(reverse("projects:switch", args=[other.project.public_id]))
    assert response.status_code == 302
    assert owner_client.session[SESSION_PROJECT_KEY] == other.project.public_id
    assert owner_client.get(reverse("projects:dashboard")).context["project"] == other.project


def test_switch_to_a_project_you_do_not_belong_to_is_404(owner_client):
    response = owner_client.post(reverse("projects:switch", args=[ProjectFactory().public_id]))
    assert response.status_code == 404


def test_removed_member_loses_access_at_once(owner_client, project):
    owner_client.membership.delete()
    response = owner_client.get(reverse("projects:settings"))
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:create")


def test_stale_session_project_falls_back_to_a_project_of_the_user(owner_client, project):
    session = owner_client.session
    session[SESSION_PROJECT_KEY] = ProjectFactory().public_id  # not a member there
    session.save()
    response = owner_client.get(reverse("projects:dashboard"))
    assert response.context["project"] == project


def test_settings_update(owner_client, project):
    response = owner_client.post(
        reverse("projects:settings"),
        {
            "name": "Acme Europe",
            "currency": "EUR",
            "time_zone": "Europe/Warsaw",
            "allowed_origins": "https://Shop.Example.com/\n*",
        },
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.currency, project.time_zone) == (
        "Acme Europe",
        "EUR",
        "Europe/Warsaw",
    )
    assert project.allowed_origins == ["https://shop.example.com", "*"]


def test_settings_errors_rerender_the_form_and_save_nothing(owner_client, project):
    response = owner_client.post(
        reverse("projects:settings"),
        {
            "name": "X",
            "currency": "EUR",
            "time_zone": "Mars/Base",
            "allowed_origins": "shop.example.com/path",
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"time_zone", "allowed_origins"}
    assert "is not an origin" in response.context["form"].errors["allowed_origins"][0]
    project.refresh_from_db()
    assert project.name == "Acme Shop"


def test_viewer_sees_settings_read_only(member_client):
    client = member_client(Role.VIEWER)
    response = client.get(reverse("projects:settings"))
    assert response.status_code == 200
    assert b"<fieldset disabled>" in response.content
    assert client.get(reverse("projects:api_keys")).status_code == 403


def test_invite_by_email_htmx(owner_client, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("projects:members"),
            {"email": "Friend@Example.com", "role": Role.ADMIN},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="members"' in response.content
    assert b"friend@example.com" in response.content
    assert b'hx-swap-oob="true"' in response.content  # the flash message comes along
    assert len(mail.outbox) == 1
    assert Invitation.objects.get(project=project).role == Role.ADMIN


def test_invite_form_errors(owner_client):
    response = owner_client.post(
        reverse("projects:members"), {"email": "not-an-email", "role": "admin"}
    )
    assert response.status_code == 200
    assert "email" in response.context["invite_form"].errors
    assert len(mail.outbox) == 0


def test_change_role_and_remove_member(owner_client, project):
    other = MembershipFactory(project=project, role=Role.VIEWER)
    owner_client.post(
        reverse("projects:member_role", args=[other.public_id]), {"role": Role.MARKETER}
    )
    other.refresh_from_db()
    assert other.role == Role.MARKETER
    owner_client.post(reverse("projects:member_remove", args=[other.public_id]))
    assert not Membership.objects.filter(pk=other.pk).exists()


def test_last_owner_cannot_leave_via_the_page(owner_client):
    me = owner_client.membership
    response = owner_client.post(
        reverse("projects:member_remove", args=[me.public_id]), follow=True
    )
    assert Membership.objects.filter(pk=me.pk).exists()
    assert b"last owner cannot leave" in response.content


def test_invitation_accept_creates_account_and_joins(client, project):
    owner = MembershipFactory(project=project)
    _, token = invitation_create(
        project=project, email="newbie@example.com", role=Role.VIEWER, by=owner
    )
    url = reverse("invitation_accept", args=[token])
    page = client.get(url)
    assert b"Create account and join" in page.content
    bad = client.post(url, {"first_name": "N", "password1": "short", "password2": "short"})
    assert bad.status_code == 200 and "password1" in bad.context["form"].errors
    response = client.post(
        url,
        {"first_name": "Nina", "password1": "a-good-pass-4242", "password2": "a-good-pass-4242"},
    )
    assert response["Location"] == reverse("projects:dashboard")
    membership = Membership.objects.get(project=project, user__email="newbie@example.com")
    assert membership.role == Role.VIEWER
    assert client.get(url).status_code == 404  # used up


def test_invitation_for_existing_user_asks_to_log_in(client, project):
    owner = MembershipFactory(project=project)
    existing = UserFactory(email="known@example.com")
    _, token = invitation_create(
        project=project, email=existing.email, role=Role.MARKETER, by=owner
    )
    url = reverse("invitation_accept", args=[token])
    assert b"Log in to accept" in client.get(url).content
    client.force_login(existing)
    client.post(url)
    assert Membership.objects.filter(project=project, user=existing, role=Role.MARKETER).exists()


def test_invitation_opened_by_another_account_is_refused(client, project):
    owner = MembershipFactory(project=project)
    _, token = invitation_create(
        project=project, email="right@example.com", role=Role.ADMIN, by=owner
    )
    client.force_login(UserFactory(email="wrong@example.com"))
    assert client.post(reverse("invitation_accept", args=[token])).status_code == 403
    assert not Membership.objects.filter(project=project, user__email="wrong@example.com").exists()


def test_unknown_invitation_token_is_404(client):
    assert client.get(reverse("invitation_accept", args=["nope"])).status_code == 404


def test_api_key_secret_is_shown_once(owner_client, project):
    response = owner_client.post(
        reverse("projects:api_keys"),
        {"name": "Checkout", "kind": "server"},
        headers={"HX-Request": "true"},
    )
    token = response.context["new_token"]
    assert token.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    assert token.encode() not in owner_client.get(reverse("projects:api_keys")).content
    api_key = ApiKey.objects.get(project=project)
    assert api_key.secret_hash != token and api_key.secret_hint == token[-4:]


def test_api_key_form_errors(owner_client, project):
    response = owner_client.post(
        reverse("projects:api_keys"),
        {"name": "x", "kind": "server", "allowed_origins": "https://a.example.com"},
    )
    assert "allowed_origins" in response.context["form"].errors
    assert not ApiKey.objects.filter(project=project).exists()


def test_api_key_regenerate_and_revoke(owner_client, project):
    api_key, token = api_key_create(project=project, name="k")
    response = owner_client.post(reverse("projects:api_key_regenerate", args=[api_key.public_id]))
    new_token = response.context["new_token"]
    assert new_token != token and new_token.encode() in response.content
    owner_client.post(reverse("projects:api_key_revoke", args=[api_key.public_id]))
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_marketer_cannot_manage_keys_or_members(member_client, project):
    client = member_client(Role.MARKETER)
    assert client.get(reverse("projects:api_keys")).status_code == 403
    response = client.post(
        reverse("projects:members"), {"email": "a@example.com", "role": "viewer"}
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_api_keys_page_shows_working_snippets_with_the_projects_key(owner_client, project):
    import re

    response = owner_client.post(reverse("projects:api_keys"), {"name": "Shop", "kind": "server"})
    token, key = response.context["new_token"], response.context["new_key"]
    page = response.content.decode()
    curl = re.search(r'data-testid="curl-snippet"><code>(.*?)</code>', page, re.S).group(1)
    assert f"X-App-Id: {key.app_id}" in curl and "X-App-Token: &lt;your token&gt;" in curl
    assert "http://testserver/v1/validations" in curl
    assert page.count(token) == 1  # the secret is shown once, in its alert
    later = owner_client.get(reverse("projects:api_keys")).content.decode()
    assert key.app_id in later and token not in later
    assert "X-App-Token: &lt;your token&gt;" in later
    # the snippet's headers really authenticate
    api = owner_client.post(
        "/v1/validations",
        '{"redeemables": [{"object": "voucher", "id": "SAVE10"}]}',
        content_type="application/json",
        headers={"X-App-Id": key.app_id, "X-App-Token": token},
    )
    assert api.status_code == 200 and api.json()["valid"] is False
