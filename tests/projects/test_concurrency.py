import pytest

from apps.core.errors import ApplicationError
from apps.projects.models import Membership, Role
from apps.projects.services import (
    invitation_accept,
    invitation_create,
    invitation_get_open,
    membership_remove,
    membership_set_role,
)
from tests.concurrency import requires_postgres, run_concurrently
from tests.projects.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db(transaction=True)]


def test_two_owners_demoting_each_other_leave_one_owner():
    for _ in range(5):
        a = MembershipFactory(role=Role.OWNER)
        b = MembershipFactory(project=a.project, role=Role.OWNER)
        results = run_concurrently(
            lambda a=a, b=b: membership_set_role(membership=a, role=Role.VIEWER, by=b),
            lambda a=a, b=b: membership_set_role(membership=b, role=Role.VIEWER, by=a),
        )
        failures = [r for r in results if isinstance(r, ApplicationError)]
        assert len(failures) == 1, results
        assert Membership.objects.filter(project=a.project, role=Role.OWNER).count() == 1


def test_two_owners_leaving_at_once_leave_one_owner():
    a = MembershipFactory(role=Role.OWNER)
    b = MembershipFactory(project=a.project, role=Role.OWNER)
    results = run_concurrently(
        lambda: membership_remove(membership=a, by=a),
        lambda: membership_remove(membership=b, by=b),
    )
    assert sum(isinstance(r, ApplicationError) for r in results) == 1, results
    assert Membership.objects.filter(project=a.project, role=Role.OWNER).count() == 1


def test_an_invitation_is_accepted_exactly_once():
    owner = MembershipFactory(role=Role.OWNER)
    user = UserFactory(email="guest@example.com")
    _, token = invitation_create(project=owner.project, email=user.email, role=Role.ADMIN, by=owner)
    invitation = invitation_get_open(token=token)
    results = run_concurrently(*[lambda: invitation_accept(invitation=invitation, user=user)] * 4)
    assert sum(isinstance(r, Membership) for r in results) == 1, results
    assert sum(isinstance(r, ApplicationError) for r in results) == 3
    assert Membership.objects.filter(project=owner.project, user=user).count() == 1
