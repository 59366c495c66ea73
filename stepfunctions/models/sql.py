"""The engine's raw SQL, each statement with its PostgreSQL and SQLite forms side by side.

The engine writes raw SQL only where the ORM would cost a round trip or more CPU than the work
(the stage's batches, the callback's one statement); every such statement is a `Statement` of
the models layer. Its text names the engine's tables as `{Model}` (the model's class name), filled
with the model's quoted `_meta.db_table`, so no table name is written twice; other `{fields}`
are the caller's (a column list, a lock clause), and the text made for each is kept.

Any database other than PostgreSQL gets the SQLite form: the project runs on those two.
"""

import string
from typing import Any, Generic, TypeVar

from django.apps import apps

T = TypeVar("T")

_FIELDS = string.Formatter()


class PerVendor(Generic[T]):
    """One thing (a statement's text, the function that builds one) in its PostgreSQL and SQLite
    forms: `of(connection)` is the connection's."""

    def __init__(self, *, postgresql: T, sqlite: T) -> None:
        self.postgresql = postgresql
        self.sqlite = sqlite

    def of(self, connection: Any) -> T:
        return self.postgresql if connection.vendor == "postgresql" else self.sqlite


class Statement(PerVendor[str]):
    """A statement in its two forms (`sqlite` defaults to the PostgreSQL text), its tables named
    `{Model}` (a stepfunctions model) and filled from the models' `_meta.db_table`."""

    def __init__(self, postgresql: str, *, sqlite: str | None = None) -> None:
        super().__init__(postgresql=postgresql, sqlite=postgresql if sqlite is None else sqlite)
        self._texts: dict[tuple, str] = {}

    def text(self, connection: Any, **fields: str) -> str:
        """The connection's form, its tables quoted as the database quotes names and the other
        `{fields}` filled with the caller's values; made once for each vendor and values."""
        key = (connection.vendor, *sorted(fields.items()))
        text = self._texts.get(key)
        if text is None:
            template = self.of(connection)
            names = {name for _, name, _, _ in _FIELDS.parse(template) if name}
            tables = {
                name: connection.ops.quote_name(
                    apps.get_model("stepfunctions", name)._meta.db_table
                )
                for name in names - fields.keys()
            }
            text = self._texts[key] = template.format(**tables, **fields)
        return text
