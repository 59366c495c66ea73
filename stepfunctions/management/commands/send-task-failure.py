from stepfunctions import services
from stepfunctions.management.commands._aws import AwsCommand


class Command(AwsCommand):
    help = "Fails a waiting task, as `aws stepfunctions send-task-failure`."

    def add_arguments(self, parser):
        parser.add_argument("--task-token", required=True)
        parser.add_argument("--error", default=None)
        parser.add_argument("--cause", default=None)

    def call(self, *, task_token, error, cause, **_):
        services.task_failure(task_token=task_token, error=error, cause=cause)
