"""/metrics and readiness' details answer the operators' networks only (METRICS_ALLOWED_NETWORKS,
loopback by default): a phone on the bar's Wi-Fi, where `runsystem --lan` serves the shop, gets a
403 for /metrics and a bare {"ok": ...} from readiness. The address is the one the web server sees."""

import pytest

from serverlesspresso.operations.network import lan_address
from tests.operations.web_faults import PRODUCTION, http, web_start
from tests.processes import private_redis, production_processes

PHONE = "192.168.1.23"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
     (PHONE, False), ("10.0.0.5", False), ("2001:db8::1", False), ("", False)],
)  # fmt: skip
def test_metrics_answer_loopback_only_by_default(client, db, address, allowed):
    metrics = client.get("/metrics", REMOTE_ADDR=address)
    assert metrics.status_code == (200 if allowed else 403)
    ready = client.get("/health/ready?check=database", REMOTE_ADDR=address)
    assert ready.status_code == 200
    assert ("checks" in ready.json()) is allowed
    assert ready.json()["ok"] is True


def test_configured_networks_are_answered(client, db, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["192.168.1.0/24", "10.0.0.5"]
    assert client.get("/metrics", REMOTE_ADDR=PHONE).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.6").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.integration
def test_a_web_process_on_every_interface_answers_metrics_to_loopback_only(
    transactional_db, tmp_path
):
    lan = lan_address()
    with private_redis() as url, production_processes(url, tmp_path, **PRODUCTION) as processes:
        web = web_start(processes, host="0.0.0.0")
        port = web.rsplit(":", 1)[1]
        assert http(f"{web}/metrics").status == 200
        assert "checks" in http(f"{web}/health/ready?check=database").json()
        if lan != "127.0.0.1":
            # The machine's own address on its network: not loopback as the server sees it.
            assert http(f"http://{lan}:{port}/metrics").status == 403
            ready = http(f"http://{lan}:{port}/health/ready?check=database")
            assert ready.status == 200 and ready.json() == {"ok": True}

        processes.stop("web")
        processes.env["METRICS_ALLOWED_NETWORKS"] = "198.51.100.0/24"
        web = web_start(processes, host="0.0.0.0")
        assert http(f"{web}/metrics").status == 403
        assert http(f"{web}/health/ready?check=database").json() == {"ok": True}
