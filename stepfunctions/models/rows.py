"""Model instances from the rows of SQL written once per process: the hot reads' way past the
ORM's query compiler.

Every API call reads a few rows by key (the access key, the execution, its machine, its history
page), and compiling those queries through the ORM cost more CPU than the rest of the call's own
work (docs/PERFORMANCE.md). A `Rows` names the models a SELECT lists, in order, each under its
alias with the columns it reads; `columns()` writes that list once, and `objects()` turns the rows
into instances as the ORM would have built them: values converted by their fields (JSON decoded,
SQLite's datetimes and UUIDs), the later models cached on the first by a foreign key (as
`select_related` does), one instance of each for all the rows that share it.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def table(model: type[models.Model], connection: BaseDatabaseWrapper) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], name: str, connection: BaseDatabaseWrapper) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


@dataclass(frozen=True)
class Part:
    """One model of a SELECT: its alias there, the fields it leaves unread (deferred on the
    instance), and, for each model after the first, the first model's foreign key it fills."""

    model: type[models.Model]
    alias: str
    attach: str | None = None
    omit: tuple[str, ...] = ()

    @property
    def fields(self) -> list[models.Field]:
        return [f for f in self.model._meta.concrete_fields if f.name not in self.omit]


class Rows:
    """The instances of rows whose columns are the parts' columns in order: the first part's
    model, with each later part cached on it through its `attach` foreign key. Columns past the
    parts' are set on the first model's instances, named by `extra` (as a raw query's
    annotations are); any further ones are left to the caller."""

    def __init__(self, main: Part, *attached: Part, extra: Sequence[str] = ()) -> None:
        if main.attach is not None or any(part.attach is None for part in attached):
            raise ValueError("the first part is the one the others are attached to")
        self.parts = (main, *attached)
        self.extra = tuple(extra)
        self._fields = [part.fields for part in self.parts]
        self._attnames = [[f.attname for f in fields] for fields in self._fields]
        self._attach = [main.model._meta.get_field(part.attach) for part in attached]
        self._columns: dict[str, str] = {}
        self._converters: dict[tuple[str, str], list[list[Callable | None]]] = {}

    def columns(self, connection: BaseDatabaseWrapper) -> str:
        """The SELECT's column list, quoted as the connection's database quotes names."""
        if connection.vendor not in self._columns:
            quote = connection.ops.quote_name
            self._columns[connection.vendor] = ", ".join(
                f"{part.alias}.{quote(field.column)}"
                for part, fields in zip(self.parts, self._fields, strict=True)
                for field in fields
            )
        return self._columns[connection.vendor]

    def fetch(self, sql: str, params: Any, connection: BaseDatabaseWrapper) -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return self.objects(cursor.fetchall(), connection)

    def objects(self, rows: Iterable[Sequence], connection: BaseDatabaseWrapper) -> list:
        (main, *attached), converters = self.parts, self._converters_for(connection)
        shared: dict[tuple[type, Any], models.Model] = {}
        found = []
        for row in rows:
            start = len(self._attnames[0])
            instance = _instance(main, self._attnames[0], converters[0], row[:start], connection)
            for part, field, attnames, part_converters in zip(
                attached, self._attach, self._attnames[1:], converters[1:], strict=True
            ):
                values = row[start : start + len(attnames)]
                start += len(attnames)
                if values[0] is None:  # an outer join that found no row
                    continue
                key = (part.model, values[0])
                if key not in shared:
                    shared[key] = _instance(part, attnames, part_converters, values, connection)
                field.set_cached_value(instance, shared[key])
            for name, value in zip(self.extra, row[start:], strict=False):
                setattr(instance, name, value)
            found.append(instance)
        return found

    def _converters_for(self, connection: BaseDatabaseWrapper) -> list[list[Callable | None]]:
        key = (connection.alias, connection.vendor)
        if key not in self._converters:
            self._converters[key] = [
                [field_converter(field, connection) for field in fields] for fields in self._fields
            ]
        return self._converters[key]


def _instance(part: Part, attnames, converters, values, connection) -> models.Model:
    converted = [
        convert(value) if convert else value
        for convert, value in zip(converters, values, strict=True)
    ]
    return part.model.from_db(connection.alias, attnames, converted)


def field_converter(field: models.Field, connection: BaseDatabaseWrapper) -> Callable | None:
    """What Django applies to a value read from the database for `field` (JSON decoding on
    PostgreSQL and SQLite, SQLite's datetimes and UUIDs), or None."""
    expression = field.get_col(field.model._meta.db_table)
    converters = connection.ops.get_db_converters(expression)
    converters += expression.get_db_converters(connection)
    if not converters:
        return None

    def convert(value):
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return convert
