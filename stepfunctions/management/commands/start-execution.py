from orders import services
from orders.management.commands._aws import AwsCommand
from orders.selectors import execution_describe
from orders.services.state_machines import ORDER_PROCESSOR


class Command(AwsCommand):
    help = "Starts an execution, as `aws stepfunctions start-execution`."

    def add_arguments(self, parser):
        parser.add_argument(
            "--state-machine-arn",
            default=ORDER_PROCESSOR,
            help=f"ARN or name (default {ORDER_PROCESSOR})",
        )
        parser.add_argument("--input", default="{}", help="JSON input")
        parser.add_argument("--name", default=None)

    def call(self, *, state_machine_arn, input, name, **_):
        machine = services.state_machine_get(arn_or_name=state_machine_arn)
        execution, _ = services.execution_start(state_machine=machine, input=input, name=name)
        described = execution_describe(execution=execution)
        return {"executionArn": described["executionArn"], "startDate": described["startDate"]}
