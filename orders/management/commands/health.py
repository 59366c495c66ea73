"""`manage.py health [--check NAME ...] [--worker celery@host]`: readiness from a shell.

The compose health checks of the worker, tasks-worker and beat containers run it; it prints the same JSON as
/health/ready and exits 1 when a check fails.
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from serverlesspresso.operations.health import CHECKS, health_report


class Command(BaseCommand):
    help = "Checks the database, Redis and the workers' and beat's heartbeats; exit 1 if one fails."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="append", choices=CHECKS, dest="checks")
        parser.add_argument("--worker", help="this worker's Celery hostname (default: any worker)")

    def handle(self, *args: Any, checks: list[str] | None, worker: str | None, **options: Any):
        report = health_report(checks=checks or CHECKS, worker=worker)
        self.stdout.write(json.dumps(report))
        if not report["ok"]:
            raise CommandError("not ready", returncode=1)
