"""Database helpers shared by the apps."""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Aggregate, Func, TextField

__all__ = ["JSONArrayAgg", "PostgresExclusionConstraint", "RangeOperators", "TsTzRange"]


class TsTzRange(Func):
    """`tstzrange(lower, upper, '[)')` for exclusion constraints and range lookups."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, lower, upper, bounds="[)", **extra):
        super().__init__(
            lower,
            upper,
            RangeBoundary(inclusive_lower=bounds[0] == "[", inclusive_upper=bounds[1] == "]"),
            **extra,
        )


class PostgresExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint that exists on PostgreSQL and is skipped on other databases.

    It lives in the models' `Meta.constraints` (so migrations are the same everywhere); on SQLite,
    the embedded development database, the booking services' serialised transactions and the
    conditional unique constraint carry the guarantee instead.
    """

    @staticmethod
    def _on_postgres(connection) -> bool:
        return connection.vendor == "postgresql"

    def constraint_sql(self, model, schema_editor):
        if not self._on_postgres(schema_editor.connection):
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model, schema_editor):
        if not self._on_postgres(schema_editor.connection):
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model, schema_editor):
        if not self._on_postgres(schema_editor.connection):
            return None
        return super().remove_sql(model, schema_editor)

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        if self._on_postgres(connections[using]):
            super().validate(model, instance, exclude=exclude, using=using)


class JSONArrayAgg(Aggregate):
    """The rows' values as one JSON array, returned as text, on PostgreSQL and SQLite.

    Lets a query carry a handful of child rows in a scalar subquery (one statement instead of
    one per table); the caller decodes it with `json.loads`.
    """

    function = "JSON_AGG"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = self.as_sql(compiler, connection, **extra_context)
        return f"({sql})::text", params

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)
