"""The database cache's table: `clinic_cache`, the table production counts throttles and form
limits in when CACHE_URL names no Redis (settings.production), in every environment — the
benchmark and race-gate servers run production settings on databases the test settings made
— plus any other database cache the settings configure."""

from django.core.management import call_command
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "clinic_cache"


def create_cache_tables(apps, schema_editor):
    alias = schema_editor.connection.alias
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(alias, TABLE, dry_run=False)
    call_command("createcachetable", database=alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("clinic_site", "0003_activity_event")]

    operations = [migrations.RunPython(create_cache_tables, drop_cache_table)]
