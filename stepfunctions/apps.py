from django.apps import AppConfig


class StepFunctionsConfig(AppConfig):
    name = "stepfunctions"
    label = "stepfunctions"
    verbose_name = "Step Functions"
    default_auto_field = "django.db.models.BigAutoField"
