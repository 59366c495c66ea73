from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from orders.services.barista import barista_grant


class Command(BaseCommand):
    help = "Makes a user a barista: staff (to enter the admin) and in the Baristas group."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--password", help="create the user with this password if it does not exist"
        )

    def handle(self, *args, username, password, **options):
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            if not password:
                raise CommandError(f"No user '{username}' (pass --password to make one)")
            user = users.create_user(username=username, password=password)
        barista_grant(user=user)
        self.stdout.write(f"{username} is a barista: log in at /admin/ for the queue.")
