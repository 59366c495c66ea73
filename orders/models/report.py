"""The manager's report: a proxy of orders, so the admin has a room for it with its own
permission (orders.view_report), apart from the order list and the barista queue; and the
report's SQL of its own, in each vendor's form."""

from datetime import datetime

from django.db import connections, models

from orders.models.orders import Order
from stepfunctions.models.sql import Statement


class DayReport(Order):
    class Meta:
        proxy = True
        verbose_name = "manager's report"
        verbose_name_plural = "manager's report"
        default_permissions = ()
        permissions = [("view_report", "Can see the manager's report of the bar's days")]


class QuarterHour(models.Func):
    """The quarter hour a timestamp falls in, as seconds since the epoch (a multiple of 900): the
    manager's report groups by it. Quarter hours of UTC are those of every time zone whose offset
    is a whole number of quarter hours, which is all of today's."""

    output_field = models.BigIntegerField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        template = "(floor(extract(epoch from %(expressions)s) / 900) * 900)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps SQLite's timestamps as UTC text; unixepoch() is SQLite 3.38's.
        template = "(unixepoch(%(expressions)s) / 900 * 900)"
        return self.as_sql(compiler, connection, template=template, **extra)


class Epoch(models.Func):
    """A timestamp as seconds since the epoch (a float): the report reads durations and the
    queue's moments as numbers, not as datetimes Python would convert one by one."""

    output_field = models.FloatField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra):
        template = "extract(epoch from %(expressions)s)::double precision"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() counts days (a double: tens of microseconds' precision today).
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)


# The options chosen on a range's drinks, counted by modifier and option: each order's
# drink.modifiers is an object {modifier: option}, spread into rows by each vendor's own function.
OPTIONS_COUNT = Statement(
    "SELECT m.key, m.value, count(*) FROM {order} o "  # noqa: S608 - the model's table
    "CROSS JOIN LATERAL jsonb_each_text(o.drink -> 'modifiers') AS m "
    "WHERE o.created_at >= %s AND o.created_at < %s AND jsonb_typeof(o.drink -> 'modifiers') = "
    "'object' GROUP BY m.key, m.value",
    sqlite="SELECT m.key, m.value, count(*) FROM {order} o, "
    "json_each(o.drink, '$.modifiers') AS m "
    "WHERE o.created_at >= %s AND o.created_at < %s AND json_type(o.drink, '$.modifiers') = "
    "'object' GROUP BY m.key, m.value",
)


def options_count(*, start: datetime, end: datetime, using: str = "default") -> list[tuple]:
    """(modifier, option, orders) for the drinks of the orders started in [start, end)."""
    connection = connections[using]
    sql = OPTIONS_COUNT.text(connection, order=connection.ops.quote_name(Order._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                connection.ops.adapt_datetimefield_value(start),
                connection.ops.adapt_datetimefield_value(end),
            ],
        )
        return [(str(key), str(value), int(count)) for key, value, count in cursor.fetchall()]
