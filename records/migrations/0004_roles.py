from django.db import migrations

from clinic_site.accounts.role_sync import noop, sync_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0003_medicines"),
        ("booking", "0002_roles"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_role_permissions, noop)]
