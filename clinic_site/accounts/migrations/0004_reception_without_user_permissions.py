"""Receptionists lose `accounts.view_user`: Wagtail's user list showed them every account's
e-mail address. Users and roles are the administrators'; the desk finds patients with its own
search. Runs after every app's roles migration, so the groups end exactly as roles.py lists."""

from django.db import migrations

from clinic_site.accounts.role_sync import noop, sync_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_session_epoch"),
        ("booking", "0002_roles"),
        ("home", "0002_roles"),
        ("records", "0004_roles"),
    ]

    operations = [migrations.RunPython(sync_role_permissions, noop)]
