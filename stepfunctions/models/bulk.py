"""Multi-row INSERTs for the stage's hot path, in SQL Django would write itself minus its cost.

Django's bulk_create on PostgreSQL sends many rows as UNNEST(arrays); with client-side binding,
quoting JSON text inside array literals cost more CPU than the rest of a stage (the profile in
the README). A plain `INSERT ... VALUES (...), (...)` quotes each value once.
"""

from collections.abc import Sequence

from django.db import connections, models


def rows_insert(
    model: type[models.Model],
    objects: Sequence[models.Model],
    fields: Sequence[str],
    *,
    returning_pk: bool = False,
    using: str = "default",
) -> None:
    """Inserts `objects` (their `fields`) in one statement; with `returning_pk`, sets each
    object's primary key from RETURNING, in the order given (PostgreSQL and SQLite both return
    the rows of a VALUES list in order)."""
    if not objects:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list = []
    for obj in objects:
        for column in columns:
            value = column.pre_save(obj, add=True)
            params.append(column.get_db_prep_save(value, connection))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 - names from the model
        f"({', '.join(quote(c.column) for c in columns)}) VALUES {', '.join([row] * len(objects))}"
    )
    pk = model._meta.pk
    if returning_pk:
        sql += f" RETURNING {quote(pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning_pk:
            for obj, (value,) in zip(objects, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = using
