from django.apps import AppConfig


class StepFunctionsConfig(AppConfig):
    name = "stepfunctions"
    label = "stepfunctions"
    verbose_name = "Step Functions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the `states:startExecution` Task resources (nested executions).
        from stepfunctions.services import nested  # noqa: F401
