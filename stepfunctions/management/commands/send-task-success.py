from stepfunctions import services
from stepfunctions.management.commands._aws import AwsCommand


class Command(AwsCommand):
    help = "Resumes a waiting task, as `aws stepfunctions send-task-success`."

    def add_arguments(self, parser):
        parser.add_argument("--task-token", required=True)
        parser.add_argument("--task-output", required=True, help="JSON output of the task")

    def call(self, *, task_token, task_output, **_):
        services.task_success(task_token=task_token, output=task_output)
