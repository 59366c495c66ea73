"""The admin's order pages (orders.admin.orders): they show an order; its status and the other
fields change only through Order's transitions: the change form is view-only."""

from orders.models import Order


def test_the_change_form_shows_the_order_and_refuses_to_change_it(admin_client):
    order = Order.objects.create(order_id="adm-1", user_id="alice", workflow_state="waiting")
    url = f"/admin/orders/order/{order.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and b"adm-1" in page.content
    response = admin_client.post(
        url, {"status": Order.Status.COMPLETED, "workflow_state": "x", "user_id": "mallory"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.status, order.workflow_state, order.user_id) == (
        Order.Status.CREATED,
        "waiting",
        "alice",
    )
