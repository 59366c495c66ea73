from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from stepfunctions.services.access_keys import GRANTS, access_key_create


class Command(BaseCommand):
    help = (
        "Issues a Step Functions API access key to a user and prints its id and secret "
        "(the secret is shown only here)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--grant",
            action="append",
            default=[],
            choices=[*GRANTS, "all"],
            help="a permission to give the user; repeat for more",
        )
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--create-user", action="store_true", help="create the user if it does not exist"
        )

    def handle(self, *args, username, grant, description, create_user, **options):
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            if not create_user:
                raise CommandError(f"No user '{username}' (pass --create-user to make one)")
            user = users.create_user(username=username)
        key = access_key_create(user=user, grants=grant, description=description)
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.access_key_id}")
        self.stdout.write(f"AWS_SECRET_ACCESS_KEY={key.secret_access_key}")
