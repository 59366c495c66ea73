"""Multi-row writes for the stage's hot path, in SQL Django would write itself minus its cost.

Django's bulk_create on PostgreSQL sends many rows as UNNEST(arrays), and bulk_update a CASE per
field and row; with client-side binding psycopg parses every such statement (a different one for
each number of rows, too long for its cache) and quotes each value in it, which cost more CPU than
the stages it wrote (the profile in the README). On PostgreSQL the rows travel instead as ONE
parameter, a JSON array made by one `json.dumps`, that `json_to_recordset` turns back into typed
columns: the statement's text is the same whatever the number of rows (psycopg parses it once),
and quoting one string is one pass in C. SQLite gets a plain `INSERT ... VALUES (...), (...)`.
"""

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connections, models

from stepfunctions.models.fields import recordset_value
from stepfunctions.models.sql import PerVendor

# Django's internal types whose value goes into the JSON as it is (JSON-native, or a JSONField's
# own value, nested as JSON and typed jsonb by the recordset).
_AS_IS = {
    "JSONField",
    "CharField",
    "TextField",
    "BooleanField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "AutoField",
    "BigAutoField",
    "FloatField",
}


def _json_text(value: Any) -> Any:
    """A datetime, date or UUID as the text PostgreSQL reads back into its column type."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _converter(field: models.Field) -> Callable[[Any], Any]:
    target = field.target_field if field.is_relation else field
    if target.get_internal_type() in _AS_IS:
        return lambda value: value
    return _json_text


def recordset(connection, columns: Sequence[models.Field]) -> str:
    """`json_to_recordset(%s) AS (column type, ...)`: the rows of one JSON parameter (made by
    recordset_json) as a table with the model's column types. A JSON null is NULL (a
    JSONValueField's is JSON null again where the rows are read: fields.recordset_value); a
    jsonb column takes its member's JSON as it is."""
    types = ", ".join(
        f"{connection.ops.quote_name(c.column)} {c.db_type(connection)}" for c in columns
    )
    return f"json_to_recordset(%s) AS ({types})"


def recordset_json(
    objects: Sequence[Any], columns: Sequence[models.Field], value: Callable[[Any, Any], Any]
) -> str:
    """The JSON array of the objects' `columns` (each read by `value(obj, column)`), keyed by
    column name, for recordset()."""
    texts: dict = {}  # a batch's rows share their execution ids and timestamps: converted once

    def as_text(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float):
            return value
        text = texts.get(value)
        if text is None:
            text = texts[value] = _json_text(value)
        return text

    converters = [
        (c.column, c, (lambda v: v) if _converter(c) is not _json_text else as_text)
        for c in columns
    ]
    rows = [
        {name: convert(value(obj, column)) for name, column, convert in converters}
        for obj in objects
    ]
    return json.dumps(rows, separators=(",", ":"))


def _pre_save(obj: models.Model, column: models.Field) -> Any:
    return column.pre_save(obj, add=True)


def rows_insert(
    model: type[models.Model],
    objects: Sequence[models.Model],
    fields: Sequence[str],
    *,
    returning_pk: bool = False,
    update_conflicts: tuple[Sequence[str], Sequence[str]] | None = None,
    using: str = "default",
) -> None:
    """Inserts `objects` (their `fields`) in one statement; with `returning_pk`, sets each
    object's primary key from RETURNING, in the order given (PostgreSQL inserts the recordset's
    rows in the ORDER BY given, and SQLite the rows of a VALUES list, in order).

    `update_conflicts` = (unique fields, fields to update): a row whose unique fields are taken
    updates the one there instead (ON CONFLICT ... DO UPDATE), as bulk_create's does."""
    if not objects:
        return
    columns = [model._meta.get_field(name) for name in fields]
    conflict = ""
    if update_conflicts is not None:
        quote = connections[using].ops.quote_name
        unique, updated = update_conflicts
        targets = ", ".join(quote(model._meta.get_field(f).column) for f in unique)
        sets = ", ".join(
            f"{quote(c)} = EXCLUDED.{quote(c)}"
            for c in (model._meta.get_field(f).column for f in updated)
        )
        conflict = f" ON CONFLICT ({targets}) DO UPDATE SET {sets}"
    pks = _insert(
        model,
        objects,
        columns,
        _pre_save,
        returning_pk=returning_pk,
        conflict=conflict,
        using=using,
    )
    for obj, pk in zip(objects, pks or [None] * len(objects), strict=True):
        if returning_pk:
            setattr(obj, model._meta.pk.attname, pk)
        obj._state.adding = False
        obj._state.db = using


def tuples_insert(
    model: type[models.Model], rows: Sequence[tuple], fields: Sequence[str], *, using="default"
) -> None:
    """Inserts plain rows, each a tuple of `fields`' values in that order (a foreign key's by its
    id), with no model instance built: the history a stage writes (33 rows a lifecycle)."""
    if not rows:
        return
    columns = [model._meta.get_field(name) for name in fields]
    index = {column: i for i, column in enumerate(columns)}
    _insert(model, rows, columns, lambda row, column: row[index[column]], using=using)


def _insert(
    model: type[models.Model],
    items: Sequence[Any],
    columns: list[models.Field],
    value: Callable[[Any, models.Field], Any],
    *,
    returning_pk: bool = False,
    conflict: str = "",
    using: str,
) -> list | None:
    connection = connections[using]
    quote = connection.ops.quote_name
    names = ", ".join(quote(c.column) for c in columns)
    table = quote(model._meta.db_table)
    sql, params = _ROWS.of(connection)(connection, items, columns, value)
    sql = f"INSERT INTO {table} ({names}) {sql}{conflict}"  # noqa: S608 - names from the model
    if returning_pk:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning_pk:
            return [pk for (pk,) in cursor.fetchall()]
    return None


def _rows_recordset(connection, items, columns, value) -> tuple[str, list]:
    """PostgreSQL: the rows as one JSON parameter, inserted in the order given."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c.column) for c in columns)
    values = ", ".join(recordset_value(c, quote(c.column)) for c in columns)
    sql = (
        f"SELECT {values} FROM ROWS FROM ({recordset(connection, columns)}) "  # noqa: S608
        f"WITH ORDINALITY AS r({names}, n) ORDER BY n"
    )
    return sql, [recordset_json(items, columns, value)]


def _rows_values(connection, items, columns, value) -> tuple[str, list]:
    """SQLite: the rows as a VALUES list, each value prepared by its field."""
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params = [
        column.get_db_prep_save(value(item, column), connection)
        for item in items
        for column in columns
    ]
    return f"VALUES {', '.join([row] * len(items))}", params


# The rows of an INSERT (after its column list), on each database.
_ROWS = PerVendor(postgresql=_rows_recordset, sqlite=_rows_values)


# --- Many rows' fields in one UPDATE ----------------------------------------------------------------
def rows_update(model, objs: list, fields, *, using: str) -> None:
    """Writes `fields` of many rows of `model` in one UPDATE: on PostgreSQL from one JSON parameter
    (recordset), elsewhere from a VALUES list (Django's bulk_update builds a CASE per field and row,
    and cost more CPU than the stages it saved)."""
    connection = connections[using]
    columns = [model._meta.pk, *(model._meta.get_field(name) for name in fields)]
    sql, params = _UPDATE.of(connection)(model, connection, columns, objs)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _attribute(obj: models.Model, column: models.Field) -> Any:
    return getattr(obj, column.attname)


def _update_recordset(model, connection, columns: list, objs: list) -> tuple[str, list]:
    """PostgreSQL: the rows as one JSON parameter (recordset)."""
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(columns[0].column)
    assignments = ", ".join(
        f"{quote(c.column)} = {recordset_value(c, f'r.{quote(c.column)}')}" for c in columns[1:]
    )
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 - names from the model
        f"FROM ROWS FROM ({recordset(connection, columns)}) AS r "
        f"WHERE {table}.{pk} = r.{pk}"
    )
    return sql, [recordset_json(objs, columns, _attribute)]


def _update_values(model, connection, columns: list, objs: list) -> tuple[str, list]:
    """SQLite: the rows as a VALUES list."""
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(columns[0].column)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params = [
        column.get_db_prep_save(getattr(obj, column.attname), connection)
        for obj in objs
        for column in columns
    ]
    assignments = ", ".join(
        f"{quote(c.column)} = v.column{i}" for i, c in enumerate(columns[1:], start=2)
    )
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 - names from the model
        f"FROM (VALUES {', '.join([row] * len(objs))}) AS v "
        f"WHERE {table}.{pk} = v.column1"
    )
    return sql, params


_UPDATE = PerVendor(postgresql=_update_recordset, sqlite=_update_values)
