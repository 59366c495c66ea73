from stepfunctions.api import operations
from stepfunctions.management.commands._aws import AwsCommand


class Command(AwsCommand):
    help = "Describes an execution, as `aws stepfunctions describe-execution`."

    def add_arguments(self, parser):
        parser.add_argument("--execution-arn", required=True)

    def call(self, *, execution_arn, **_):
        return operations.describe_execution({"executionArn": execution_arn})
