"""The coffee bar's orders, and every change of their status as a declared transition.

An order is CREATED until its workflow finishes it (COMPLETED) or ends it without coffee
(CANCELLED); nothing else writes its status. Each transition is guarded in the database: a
conditional UPDATE on the status it expects (its row count says who won), or a row lock held to
the end of the caller's transaction. Those the engine's stages make run for a whole batch of
orders in one statement: on PostgreSQL the rows travel as one JSON parameter, elsewhere Django
writes the statement (both forms in OrderQuerySet._rows_update).
"""

import functools
import operator
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connections, models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from stepfunctions.models import Execution
from stepfunctions.models.bulk import recordset, recordset_json, rows_insert

# A batch row: the order's `order_id`, the `execution` (its id) that runs it, and any per-row
# values by field name.
Row = dict[str, Any]


class OrderQuerySet(models.QuerySet):
    # -- started by the customer, and by the workflow ------------------------------------------

    def start(self, *, order_id: str, user_id: str, execution: Execution) -> "Order":
        """CREATED, for a new order of `execution`; an order id already there keeps its row (its
        unique order_id decides), so the workflow's own start may come first."""
        order, _ = self.get_or_create(
            order_id=order_id, defaults={"user_id": user_id, "execution": execution}
        )
        return order

    def start_afresh(self, orders: Sequence["Order"], *, workflow_state: str) -> None:
        """CREATED and waiting in `workflow_state`, for each of `orders` (unsaved rows: order_id,
        user_id, execution, task_token), in one INSERT ... ON CONFLICT: an order id taken by an
        earlier execution (a restarted order) starts afresh under the new one, whatever its
        status was."""
        for order in orders:
            order.status = Order.Status.CREATED
            order.workflow_state = workflow_state
        fresh = [*_FRESH_FIELDS, "updated_at"]
        rows_insert(
            Order,
            list(orders),
            ["order_id", *_FRESH_FIELDS, "created_at", "updated_at"],
            update_conflicts=(["order_id"], fresh),
            using=self.db,
        )

    # -- the workflow's waits and ends, a batch of orders at a time ----------------------------

    def wait_for_barista(self, rows: Sequence[Row], *, workflow_state: str) -> None:
        """CREATED stays CREATED, now waiting in `workflow_state` with each row's `order_number`
        and `task_token`. Only the row's execution's order, while CREATED."""
        self._rows_update(
            rows, per_row=("order_number", "task_token"), workflow_state=workflow_state
        )

    def complete(self, rows: Sequence[Row], *, workflow_state: str) -> None:
        """CREATED -> COMPLETED in `workflow_state`, its token spent, ended now. Only the row's
        execution's order, while CREATED: applying the same end twice changes nothing more."""
        self._rows_update(
            rows,
            status=Order.Status.COMPLETED,
            task_token="",
            workflow_state=workflow_state,
            ended_at=timezone.now(),
        )

    def cancel(self, rows: Sequence[Row], *, refusals: bool = False) -> None:
        """CREATED -> CANCELLED, ended now in each row's `workflow_state` with its `reason` (and,
        for the shop's `refusals`, its `refused_because`), its token spent. Only the row's
        execution's order, while CREATED."""
        self._rows_update(
            rows,
            per_row=("workflow_state", "reason", *(("refused_because",) if refusals else ())),
            status=Order.Status.CANCELLED,
            task_token="",
            ended_at=timezone.now(),
        )

    def cancel_closed(self, *, execution: Execution, reason: str) -> "Order | None":
        """CREATED -> CANCELLED with `reason`, for the order of an execution that ended outside
        the workflow's own ends: the order so ended, or None. One conditional UPDATE: an order
        already ended stays as it is (None)."""
        ended = self.filter(execution=execution, status=Order.Status.CREATED).update(
            status=Order.Status.CANCELLED,
            task_token="",
            ended_at=timezone.now(),
            reason=reason[: Order._meta.get_field("reason").max_length],
        )
        return self.filter(execution=execution).first() if ended else None

    # -- the people's callbacks ----------------------------------------------------------------

    def claim(self, *, pk: int, barista: str, waiting_in: str) -> bool:
        """The barista claims an unclaimed CREATED order waiting in `waiting_in`, made from now.
        One conditional UPDATE: of two baristas at once, the one whose row count is 1 won."""
        now = timezone.now()
        return bool(
            self.filter(
                pk=pk, status=Order.Status.CREATED, workflow_state=waiting_in, barista=""
            ).update(barista=barista, made_at=now, updated_at=now)
        )

    def unclaim(self, *, pk: int, barista: str, waiting_in: str) -> bool:
        """The claimant gives the claim back, while the order still waits in `waiting_in`; False
        for anyone else."""
        return bool(
            self.filter(
                pk=pk, status=Order.Status.CREATED, workflow_state=waiting_in, barista=barista
            ).update(barista="", made_at=None, updated_at=timezone.now())
        )

    def more_time_take(self, *, pk: int, waiting_in: str, limit: int) -> bool:
        """Counts one more extension of the customer's wait while the order still waits in
        `waiting_in` and has had fewer than `limit`. One conditional UPDATE: of two asks at once
        with one extension left, one wins."""
        return bool(
            self.filter(
                pk=pk,
                status=Order.Status.CREATED,
                workflow_state=waiting_in,
                more_time_taken__lt=limit,
            ).update(more_time_taken=F("more_time_taken") + 1, updated_at=timezone.now())
        )

    def lock_for_callback(self, order: "Order") -> "Order":
        """The order, re-read under its row lock to the end of the caller's transaction (which
        must be open): a callback checks Order.waits_in on it and writes it, and a second
        callback waits for the first. The engine's lock order first: the execution's row before
        the order's (a stop or a stage holds the execution's while it writes the order), so the
        two never wait for each other in a ring."""
        Execution.objects.lock([order.execution_id])
        return self.select_for_update().get(pk=order.pk)

    # -- one UPDATE of a batch's orders, in each vendor's form ---------------------------------

    def _rows_update(self, rows: Sequence[Row], *, per_row: Sequence[str] = (), **values) -> None:
        """One UPDATE of the CREATED orders of `rows` (each its order_id, while run by its
        execution): `values` the same for all, the `per_row` fields each row's own.

        On PostgreSQL the rows' keys and values travel as one JSON parameter joined as a table
        (stepfunctions.models.bulk.recordset): the statement's text and its cost do not grow with
        the batch's CASE per row. Elsewhere Django builds it from Q objects and CASE expressions.
        """
        connection = connections[self.db]
        field = Order._meta.get_field
        if connection.vendor == "postgresql":
            quote = connection.ops.quote_name
            keys = [field("order_id"), field("execution")]
            varying = [field(name) for name in per_row]
            fixed = [field(name) for name in values]
            assignments = [f"{quote(f.column)} = r.{quote(f.column)}" for f in varying]
            assignments += [f"{quote(f.column)} = %s" for f in fixed]
            conditions = [f"o.{quote(k.column)} = r.{quote(k.column)}" for k in keys]
            conditions.append(f"o.{quote(field('status').column)} = %s")
            sql = (
                f"UPDATE {quote(Order._meta.db_table)} o SET {', '.join(assignments)} "  # noqa: S608
                f"FROM ROWS FROM ({recordset(connection, [*keys, *varying])}) AS r "
                f"WHERE {' AND '.join(conditions)}"
            )
            # In the statement's order: the SET's values, the recordset, the status.
            params = [
                f.get_db_prep_save(v, connection)
                for f, v in zip(fixed, values.values(), strict=True)
            ]
            params.append(recordset_json(rows, [*keys, *varying], lambda row, f: row[f.name]))
            params.append(Order.Status.CREATED)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            return
        keyed = functools.reduce(
            operator.or_, (Q(order_id=r["order_id"], execution_id=r["execution"]) for r in rows)
        )
        self.filter(keyed, status=Order.Status.CREATED).update(
            **values, **{name: _by_execution(rows, name) for name in per_row}
        )


def _by_execution(rows: Sequence[Row], name: str):
    """Each row's value of field `name`, on its execution's order (SQLite's per-row values)."""
    output_field = Order._meta.get_field(name)
    if len(rows) == 1:
        return Value(rows[0][name], output_field=output_field)
    return Case(
        *(When(execution_id=r["execution"], then=Value(r[name])) for r in rows),
        output_field=output_field,
    )


# What a (re)started order's row is made of, all of it replaced when an order id starts afresh.
_FRESH_FIELDS = (
    "user_id",
    "execution",
    "status",
    "workflow_state",
    "task_token",
    "order_number",
    "drink",
    "barista",
    "reason",
    "more_time_taken",
    "submitted_at",
    "made_at",
    "ended_at",
    "cancelled_by",
    "refused_because",
)


class Order(models.Model):
    """A customer's order, kept up to date from the workflow's events."""

    class Status(models.TextChoices):
        CREATED = "CREATED"
        COMPLETED = "COMPLETED"
        CANCELLED = "CANCELLED"

    class Refusal(models.TextChoices):
        CLOSED = "closed"
        FULL = "full"

    order_id = models.CharField(max_length=64, unique=True)
    user_id = models.CharField(max_length=150, db_index=True)
    execution = models.OneToOneField(
        Execution, on_delete=models.SET_NULL, null=True, blank=True, related_name="order"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.CREATED, db_index=True
    )
    # The workflow state the order waits in, or the one it ended in (e.g. "Customer timedout").
    workflow_state = models.CharField(max_length=80, blank=True, default="")
    # The open callback token (customer's, then barista's), as the original kept it with the order.
    task_token = models.CharField(max_length=2048, blank=True, default="")
    order_number = models.PositiveIntegerField(null=True, blank=True)
    drink = models.JSONField(null=True, blank=True)
    barista = models.CharField(max_length=150, blank=True, default="")
    reason = models.CharField(max_length=256, blank=True, default="")
    # How often the customer asked for more time to choose (WCAG 2.2.1: at least ten times).
    more_time_taken = models.PositiveSmallIntegerField(default=0, db_default=0)
    # When the customer's drink was accepted: the barista queue's age counts from here.
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The manager's report reads these: when a barista pressed Make (cleared if put back), when
    # the order ended (any way), who asked to cancel it, and why the shop refused it.
    made_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True, default="")
    refused_because = models.CharField(
        max_length=6, choices=Refusal.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        permissions = [("act_as_barista", "Can make, complete and cancel any order")]
        # The manager's report reads a day's orders by when they started.
        indexes = [models.Index(fields=["created_at"], name="orders_order_created_at")]

    def __str__(self) -> str:
        return f"Order {self.order_id}"

    def waits_in(self, waits: Iterable[str]) -> bool:
        """Whether the order is CREATED and waits in one of `waits` (read it locked, by
        OrderQuerySet.lock_for_callback, for the answer to hold)."""
        return self.status == Order.Status.CREATED and self.workflow_state in waits

    def drink_take(self, *, drink: dict, at: datetime) -> None:
        """The customer's drink, accepted at `at`; on a row read by lock_for_callback."""
        self.drink = drink
        self.submitted_at = at
        self.save(update_fields=["drink", "submitted_at", "updated_at"])

    def cancel_ask(self, *, by: str) -> None:
        """Who asked to cancel (a username); on a row read by lock_for_callback."""
        self.cancelled_by = by[: Order._meta.get_field("cancelled_by").max_length]
        self.save(update_fields=["cancelled_by", "updated_at"])

    def barista_set(self, *, barista: str) -> None:
        """The barista who hands the drink over; on a row read by lock_for_callback."""
        self.barista = barista
        self.save(update_fields=["barista", "updated_at"])
