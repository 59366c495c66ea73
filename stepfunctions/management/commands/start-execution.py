from django.conf import settings

from stepfunctions import services
from stepfunctions.management.commands._aws import AwsCommand


class Command(AwsCommand):
    help = "Starts an execution, as `aws stepfunctions start-execution`."

    def add_arguments(self, parser):
        # The project names the machine its people start (SFN_DEFAULT_STATE_MACHINE), if any.
        default = getattr(settings, "SFN_DEFAULT_STATE_MACHINE", None)
        parser.add_argument(
            "--state-machine-arn",
            default=default,
            required=default is None,
            help=f"ARN or name (default {default})" if default else "ARN or name",
        )
        parser.add_argument("--input", default="{}", help="JSON input")
        parser.add_argument("--name", default=None)

    def call(self, *, state_machine_arn, input, name, **_):
        machine = services.state_machine_get(arn_or_name=state_machine_arn)
        execution, _ = services.execution_start(state_machine=machine, input=input, name=name)
        return {"executionArn": execution.arn, "startDate": execution.start_date}
