from stepfunctions.management.commands._aws import AwsCommand
from stepfunctions.selectors import execution_get, execution_history


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
        return execution_history(
            execution=execution_get(arn=execution_arn),
            max_results=max_results,
            next_token=next_token,
            reverse_order=reverse_order,
            include_execution_data=include_execution_data,
        )
