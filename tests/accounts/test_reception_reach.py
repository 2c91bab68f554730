"""Users and roles are the administrators' (permissions.md): a receptionist never opens Wagtail's
user admin, where every account's e-mail address is listed. The desk finds patients with its own
search, registers them and books for them, and none of that needs a permission on users.

The permission came from the roles data migrations (roles.py, role_sync.py); accounts' 0004
migration takes it back from databases that already had it.
"""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from clinic_site.accounts.role_sync import sync_role_permissions
from clinic_site.accounts.roles import ROLE_PERMISSIONS, Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

USER_ADMIN = [
    "/admin/users/",
    "/admin/users/results/",
    "/admin/users/edit/{pk}/",
    "/admin/users/history/{pk}/",
    "/admin/users/usage/{pk}/",
]


def desk_group() -> Group:
    return Group.objects.get(name=Role.RECEPTIONIST.group_name)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_receptionist_role_holds_no_permission_on_users():
    assert not [p for p in ROLE_PERMISSIONS[Role.RECEPTIONIST] if p.endswith("_user")]
    held = desk_group().permissions.filter(content_type__app_label="accounts")
    assert not held.filter(codename__endswith="_user").exists()


@pytest.mark.parametrize("path", USER_ADMIN)
def test_a_receptionist_is_refused_wagtails_user_admin(path):
    patient = make_user(Role.PATIENT, email="petra@example.test")
    client = signed_in(make_user(Role.RECEPTIONIST))
    response = client.get(path.format(pk=patient.pk))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert any("permission" in str(m).lower() for m in get_messages(response.wsgi_request))
    assert b"petra@example.test" not in response.content


def test_the_users_menu_entry_is_gone_for_the_front_desk():
    entry = '"url": "/admin/users/"'  # in the sidebar's menu data
    assert entry not in signed_in(make_user(Role.RECEPTIONIST)).get("/admin/").content.decode()
    assert entry in signed_in(make_user(Role.ADMIN)).get("/admin/").content.decode()


def test_an_administrator_still_reads_the_accounts():
    make_user(Role.PATIENT, email="petra@example.test")
    response = signed_in(make_user(Role.ADMIN)).get("/admin/users/")
    assert response.status_code == 200
    assert b"petra@example.test" in response.content


def test_the_desk_still_finds_registers_and_books_for_patients():
    patient = make_user(Role.PATIENT, full_name="Petra Patientson")
    desk = signed_in(make_user(Role.RECEPTIONIST))
    found = desk.get(reverse("dashboard:book"), {"q": "Patientson"})
    assert found.status_code == 200
    assert "Petra Patientson" in found.content.decode()
    assert desk.get(reverse("dashboard:book_register")).status_code == 200
    assert desk.get(reverse("dashboard:book_patient", args=[patient.pk])).status_code == 200
    assert desk.get(reverse("dashboard:appointments")).status_code == 200


def test_the_role_sync_takes_the_user_list_back_from_a_database_that_granted_it():
    """What the migration does to a database built before it: the groups end as roles.py says."""
    view_user = Permission.objects.get(content_type__app_label="accounts", codename="view_user")
    desk_group().permissions.add(view_user)
    sync_role_permissions(django_apps)
    assert not desk_group().permissions.filter(pk=view_user.pk).exists()
    assert Group.objects.get(name=Role.ADMIN.group_name).permissions.filter(pk=view_user.pk)


def test_the_migration_syncs_the_roles():
    migration = import_module(
        "clinic_site.accounts.migrations.0004_reception_without_user_permissions"
    ).Migration
    (operation,) = migration.operations
    assert operation.code is sync_role_permissions
