"""The engine's own model field: a JSON value that may be JSON null."""

from typing import Any

from django.db import models
from django.db.models import Value


class JSONValueField(models.JSONField):
    """A JSON value, `null` included (an execution's input: a Map's item or a Parallel branch's
    input may be null, as any value): Python None is written as JSON null, never SQL NULL, and
    read back as None. Django's JSONField writes None as SQL NULL unless given
    `Value(None, JSONField())`, which this does for every value the field prepares for a
    write (the ORM's, and the raw rows of models.bulk on SQLite; PostgreSQL's recordset, which
    turns a JSON null member into SQL NULL, reads it through `recordset_value`).

    The column is a JSONField's in every respect, so migrations see a JSONField (deconstruct):
    only how None is written differs, and a migration would rebuild the table on SQLite for
    nothing."""

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if value is None:
            value = Value(None, models.JSONField())
        return super().get_db_prep_save(value, connection)

    def deconstruct(self) -> tuple:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


def recordset_value(column: models.Field, value: str) -> str:
    """The SQL of a column's `value` read from a PostgreSQL JSON recordset (models.bulk), where
    a JSON null member is SQL NULL: a JSONValueField's is JSON null again."""
    if isinstance(column, JSONValueField):
        return f"COALESCE({value}, 'null'::jsonb)"
    return value
