from django.db import migrations

from clinic_site.accounts.role_sync import noop, sync_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0001_initial"),
        ("doctors", "0003_availability"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_role_permissions, noop)]
