"""The clients of the PostgreSQL fault tests: 8 boto3 clients and 8 browser-like kept-alive
connections driving one round of calls each, and the fixture of the shop they call."""

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from botocore.config import Config
from botocore.exceptions import ClientError

from orders.models import ShopConfig
from orders.services.order_processor import ORDER_PROCESSOR
from tests.operations.web_faults import PRODUCTION, boto3_client, customer_cookies, http
from tests.processes import private_redis, production_processes

ORDER_ARN = f"arn:aws:states:us-east-1:123456789012:stateMachine:{ORDER_PROCESSOR}"
EXECUTION_ARN = ORDER_ARN.replace(":stateMachine:", ":execution:") + ":nothing"
_names = itertools.count()


@pytest.fixture
def shop(order_processor, sfn_key, tmp_path):
    """Private Redis, the processes' environment (production), an access key and a customer."""
    ShopConfig.objects.update_or_create(
        pk=1, defaults={"qr_code_required": False, "max_orders_per_user": 10_000}
    )
    with private_redis() as url, production_processes(url, tmp_path, **PRODUCTION) as processes:
        processes.key = sfn_key
        processes.cookies = customer_cookies("faults-customer")
        yield processes


class Clients:
    """8 clients, each a boto3 client and a browser-like connection pool, kept for the whole test:
    the web keeps a database connection per kept-alive HTTP connection and request thread."""

    def __init__(self, web: str, shop) -> None:
        self.web = web
        self.cookies = shop.cookies
        # One attempt a call: each answer is the server's, not botocore's last retry.
        once = Config(retries={"total_max_attempts": 1})
        self.sfn = [boto3_client(web, shop.key, config=once) for _ in range(8)]
        self.pools = [urllib3.PoolManager(maxsize=1) for _ in range(8)]

    def calls(self, n: int) -> dict[str, int]:
        """One of each call a client makes, {call: HTTP status}: StartExecution,
        DescribeExecution, ListExecutions, the coffee bar's start and detail, readiness."""
        sfn, pool = self.sfn[n % 8], self.pools[n % 8]
        statuses = {}

        def api(operation: str, **members) -> dict:
            try:
                answer = getattr(sfn, operation)(**members)
            except ClientError as error:
                statuses[operation] = error.response["ResponseMetadata"]["HTTPStatusCode"]
                return {}
            statuses[operation] = answer["ResponseMetadata"]["HTTPStatusCode"]
            return answer

        started = api("start_execution", stateMachineArn=ORDER_ARN, name=f"pg-{next(_names)}")
        if started:
            api("describe_execution", executionArn=started["executionArn"])
        api("list_executions", stateMachineArn=ORDER_ARN, maxResults=5)
        order_id = uuid.uuid4().hex
        url = f"{self.web}/api/orders"
        start = http(
            url, method="POST", body={"orderId": order_id}, cookies=self.cookies, pool=pool
        )
        statuses["order_start"] = start.status
        statuses["order_detail"] = http(f"{url}/{order_id}", cookies=self.cookies, pool=pool).status
        statuses["ready"] = http(f"{self.web}/health/ready?check=database", pool=pool).status
        return statuses

    def rounds(self, count: int) -> list[dict[str, int]]:
        """`count` rounds of calls, 8 clients at once."""
        with ThreadPoolExecutor(8) as threads:
            return list(threads.map(self.calls, range(count)))

    def close(self) -> None:
        for client in self.sfn:
            client.close()
        for pool in self.pools:
            pool.clear()


@pytest.fixture
def clients(shop):
    made = []

    def make(web: str) -> Clients:
        made.append(Clients(web, shop))
        return made[-1]

    yield make
    for each in made:
        each.close()


def server_errors(answers: list[dict[str, int]]) -> list[tuple[str, int]]:
    return [
        (name, status) for answer in answers for name, status in answer.items() if status >= 500
    ]
