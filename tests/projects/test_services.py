import pytest
from django.core import mail

from apps.core.errors import ApplicationError
from apps.projects.models import ApiKeyKind, Membership, Role
from apps.projects.services import (
    api_key_create,
    api_key_regenerate,
    api_key_revoke,
    api_key_verify,
    invitation_accept,
    invitation_create,
    invitation_get_open,
    membership_remove,
    membership_set_role,
    project_create,
)
from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_project_create_makes_the_creator_owner():
    user = UserFactory()
    project = project_create(name="Shop", owner=user, currency="EUR", time_zone="Europe/Berlin")
    membership = Membership.objects.get(project=project, user=user)
    assert membership.role == Role.OWNER
    assert (project.currency, project.time_zone) == ("EUR", "Europe/Berlin")


def test_the_last_owner_cannot_be_demoted_or_removed():
    owner = MembershipFactory(role=Role.OWNER)
    with pytest.raises(ApplicationError, match="at least one owner"):
        membership_set_role(membership=owner, role=Role.ADMIN, by=owner)
    with pytest.raises(ApplicationError, match="last owner"):
        membership_remove(membership=owner, by=owner)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_owner_can_step_down_once_another_owner_exists():
    owner = MembershipFactory(role=Role.OWNER)
    second = MembershipFactory(project=owner.project, role=Role.ADMIN)
    membership_set_role(membership=second, role=Role.OWNER, by=owner)
    membership_set_role(membership=owner, role=Role.MARKETER, by=second)
    owner.refresh_from_db()
    assert owner.role == Role.MARKETER


def test_admins_cannot_touch_owners_or_grant_ownership():
    owner = MembershipFactory(role=Role.OWNER)
    admin = MembershipFactory(project=owner.project, role=Role.ADMIN)
    marketer = MembershipFactory(project=owner.project, role=Role.MARKETER)
    with pytest.raises(ApplicationError, match="Only an owner"):
        membership_set_role(membership=owner, role=Role.VIEWER, by=admin)
    with pytest.raises(ApplicationError, match="Only an owner"):
        membership_set_role(membership=marketer, role=Role.OWNER, by=admin)
    with pytest.raises(ApplicationError, match="Only an owner"):
        membership_remove(membership=owner, by=admin)
    membership_set_role(membership=marketer, role=Role.ADMIN, by=admin)
    marketer.refresh_from_db()
    assert marketer.role == Role.ADMIN


def test_marketers_cannot_manage_members_but_can_leave():
    owner = MembershipFactory(role=Role.OWNER)
    marketer = MembershipFactory(project=owner.project, role=Role.MARKETER)
    viewer = MembershipFactory(project=owner.project, role=Role.VIEWER)
    with pytest.raises(ApplicationError):
        membership_set_role(membership=viewer, role=Role.ADMIN, by=marketer)
    with pytest.raises(ApplicationError):
        membership_remove(membership=viewer, by=marketer)
    membership_remove(membership=marketer, by=marketer)
    assert not Membership.objects.filter(pk=marketer.pk).exists()


def test_members_of_another_project_cannot_manage():
    owner = MembershipFactory(role=Role.OWNER)
    stranger = MembershipFactory(role=Role.OWNER)
    with pytest.raises(ApplicationError):
        membership_set_role(membership=owner, role=Role.VIEWER, by=stranger)


def test_invitation_is_emailed_once_and_accepted_once(django_capture_on_commit_callbacks):
    owner = MembershipFactory(role=Role.OWNER)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invitation_create(
            project=owner.project, email="New.Person@Example.com", role=Role.MARKETER, by=owner
        )
    assert invitation.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert f"/invitations/{token}/" in mail.outbox[0].body
    assert token not in invitation.token_hash

    user = UserFactory(email="new.person@example.com")
    membership = invitation_accept(invitation=invitation_get_open(token=token), user=user)
    assert membership.role == Role.MARKETER
    assert invitation_get_open(token=token) is None
    with pytest.raises(ApplicationError, match="already been used"):
        invitation_accept(invitation=invitation, user=user)


def test_invitation_rules():
    owner = MembershipFactory(role=Role.OWNER)
    admin = MembershipFactory(project=owner.project, role=Role.ADMIN)
    with pytest.raises(ApplicationError, match="higher role"):
        invitation_create(project=owner.project, email="a@example.com", role=Role.OWNER, by=admin)
    with pytest.raises(ApplicationError, match="already a member"):
        invitation_create(project=owner.project, email=admin.user.email, role=Role.VIEWER, by=owner)
    invitation, token = invitation_create(
        project=owner.project, email="b@example.com", role=Role.VIEWER, by=owner
    )
    with pytest.raises(ApplicationError, match="another email"):
        invitation_accept(invitation=invitation, user=UserFactory(email="c@example.com"))
    # re-inviting replaces the open invitation and its link
    again, token2 = invitation_create(
        project=owner.project, email="b@example.com", role=Role.ADMIN, by=owner
    )
    assert invitation_get_open(token=token) is None
    assert invitation_get_open(token=token2) == again


def test_expired_invitations_do_not_open(time_machine):
    owner = MembershipFactory(role=Role.OWNER)
    time_machine.move_to("2026-01-01T00:00:00Z")
    _, token = invitation_create(
        project=owner.project, email="x@example.com", role="viewer", by=owner
    )
    time_machine.move_to("2026-01-07T23:59:00Z")
    assert invitation_get_open(token=token) is not None
    time_machine.move_to("2026-01-08T00:00:01Z")
    assert invitation_get_open(token=token) is None


def test_api_keys_verify_rotate_and_revoke():
    project = ProjectFactory()
    api_key, token = api_key_create(project=project, name="checkout")
    assert api_key_verify(app_id=api_key.app_id, token=token, kind=ApiKeyKind.SERVER) == api_key
    assert api_key_verify(app_id=api_key.app_id, token=token + "x", kind="server") is None
    assert api_key_verify(app_id=api_key.app_id, token=token, kind=ApiKeyKind.CLIENT) is None
    assert api_key_verify(app_id="nope", token=token, kind="server") is None

    new_token = api_key_regenerate(api_key=api_key)
    assert new_token != token
    assert api_key_verify(app_id=api_key.app_id, token=token, kind="server") is None
    assert api_key_verify(app_id=api_key.app_id, token=new_token, kind="server") == api_key
    assert api_key.secret_hint == new_token[-4:]

    api_key_revoke(api_key=api_key)
    assert api_key_verify(app_id=api_key.app_id, token=new_token, kind="server") is None
    with pytest.raises(ApplicationError, match="revoked"):
        api_key_regenerate(api_key=api_key)
