"""Create the role groups and grant their permissions. Used by data migrations.

Each app's roles migration calls `sync_role_permissions` once its models exist; it grants every
listed permission that exists by then, so after the last migration every role is complete.
Running it again changes nothing. A change to roles.py gets a migration that calls it once more
(accounts 0004 took `accounts.view_user` back from receptionists), so databases built before
the change end exactly as roles.py says too.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions

from .roles import ROLE_PERMISSIONS, Role


def _ensure_permissions(apps) -> None:
    for app_config in apps.get_app_configs():
        # Migration-state app configs have no models module; create_permissions needs one set.
        had_models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = had_models_module


def sync_role_permissions(apps, schema_editor=None) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    _ensure_permissions(apps)
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.group_name)
        found = []
        for perm in ROLE_PERMISSIONS[role]:
            app_label, codename = perm.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                found.append(permission)
        # Exactly the listed ones: a role never keeps a permission nobody decided to give it.
        group.permissions.set(found)


def noop(apps, schema_editor) -> None:
    pass
