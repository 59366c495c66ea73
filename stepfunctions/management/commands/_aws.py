"""What the aws-CLI-shaped commands share: JSON output and Step Functions' errors."""

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stepfunctions.errors import ServiceError


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class AwsCommand(BaseCommand):
    """Runs `call` and prints its answer as the aws CLI does (indented JSON, nothing for {})."""

    def call(self, **options: Any) -> dict | None:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answer = self.call(**options)
        except ServiceError as error:
            raise CommandError(f"An error occurred ({error.code}): {error.message}") from error
        if answer:
            self.stdout.write(json.dumps(answer, indent=4, default=_encode))
