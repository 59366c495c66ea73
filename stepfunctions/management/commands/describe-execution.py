from stepfunctions.management.commands._aws import AwsCommand
from stepfunctions.selectors import execution_describe, execution_get


class Command(AwsCommand):
    help = "Describes an execution, as `aws stepfunctions describe-execution`."

    def add_arguments(self, parser):
        parser.add_argument("--execution-arn", required=True)

    def call(self, *, execution_arn, **_):
        return execution_describe(execution=execution_get(arn=execution_arn))
