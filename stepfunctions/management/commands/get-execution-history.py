from stepfunctions.api import operations
from stepfunctions.management.commands._aws import AwsCommand


class Command(AwsCommand):
    help = "Lists an execution's history events, as `aws stepfunctions get-execution-history`."

    def add_arguments(self, parser):
        parser.add_argument("--execution-arn", required=True)
        parser.add_argument("--max-results", type=int, default=None)
        parser.add_argument("--next-token", default=None)
        parser.add_argument("--reverse-order", action="store_true")
        parser.add_argument(
            "--no-include-execution-data", dest="include_execution_data", action="store_false"
        )

    def call(
        self, *, execution_arn, max_results, next_token, reverse_order, include_execution_data, **_
    ):
        members = {
            "executionArn": execution_arn,
            "maxResults": max_results,
            "nextToken": next_token,
            "reverseOrder": reverse_order,
            "includeExecutionData": include_execution_data,
        }
        return operations.get_execution_history(members)
