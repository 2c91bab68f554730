"""The role comes with the user in one statement (UserManager.with_role), as the group look-up
it replaces gave it, and the API's token authentication reads the user that way."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from tests.factories import make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

# The look-up `User.role` makes when the user came without its group names.
ROLE_LOOKUP = 'SELECT "auth_group"."id", "auth_group"."name" FROM "auth_group" INNER JOIN'


@pytest.mark.parametrize("role", list(Role))
def test_with_role_gives_the_role_of_the_groups_without_another_query(role):
    user = make_user(role)

    with CaptureQueriesContext(connection) as ctx:
        loaded = User.objects.with_role().get(pk=user.pk)
        assert loaded.role == role

    assert len(ctx.captured_queries) == 1
    assert User.objects.get(pk=user.pk).role == role  # the plain look-up agrees


def test_the_highest_role_wins_and_a_superuser_without_groups_is_an_administrator():
    user = make_user(Role.PATIENT)
    user.groups.add(Group.objects.get(name=Role.RECEPTIONIST.label))
    assert User.objects.with_role().get(pk=user.pk).role == User.objects.get(pk=user.pk).role
    root = User.objects.create_superuser("root@example.test", "a long pass phrase")
    root.groups.clear()
    assert User.objects.with_role().get(pk=root.pk).role == Role.ADMIN
    bare = User.objects.create_user("bare@example.test", "a long pass phrase")
    assert User.objects.with_role().get(pk=bare.pk).role is None


def test_token_authentication_reads_the_user_and_role_in_one_statement():
    receptionist = make_user(Role.RECEPTIONIST)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(receptionist).access_token}"
    )
    client.get("/api/v1/appointments/")  # warm-up

    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/appointments/")

    assert response.status_code == 200
    queries = [q["sql"] for q in ctx.captured_queries]
    assert not [q for q in queries if q.startswith(ROLE_LOOKUP)], "the role was looked up again"
    assert [q for q in queries if q.startswith('SELECT "accounts_user"') and "auth_group" in q]


def test_a_signed_in_page_reads_the_user_and_role_in_one_statement(client):
    receptionist = make_user(Role.RECEPTIONIST)
    response = client.post(
        "/accounts/login/",
        {"username": receptionist.email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.content
    client.get("/admin/clinic/appointments/")  # warm-up

    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/admin/clinic/appointments/")

    assert response.status_code == 200
    assert response.wsgi_request.user.role == Role.RECEPTIONIST
    queries = [q["sql"] for q in ctx.captured_queries]
    assert not [q for q in queries if q.startswith(ROLE_LOOKUP)], "the role was looked up again"
    assert [q for q in queries if q.startswith('SELECT "accounts_user"') and "auth_group" in q]
