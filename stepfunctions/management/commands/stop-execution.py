from stepfunctions import services
from stepfunctions.management.commands._aws import AwsCommand
from stepfunctions.selectors import execution_get


class Command(AwsCommand):
    help = "Stops an execution, as `aws stepfunctions stop-execution`."

    def add_arguments(self, parser):
        parser.add_argument("--execution-arn", required=True)
        parser.add_argument("--error", default=None)
        parser.add_argument("--cause", default=None)

    def call(self, *, execution_arn, error, cause, **_):
        execution = services.execution_stop(
            execution=execution_get(arn=execution_arn), error=error, cause=cause
        )
        return {"stopDate": execution.stop_date}
