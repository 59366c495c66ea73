from stepfunctions import services
from stepfunctions.management.commands._aws import AwsCommand


class Command(AwsCommand):
    help = "Restarts a waiting task's heartbeat clock, as `aws stepfunctions send-task-heartbeat`."

    def add_arguments(self, parser):
        parser.add_argument("--task-token", required=True)

    def call(self, *, task_token, **_):
        services.task_heartbeat(task_token=task_token)
