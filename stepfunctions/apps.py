from django.apps import AppConfig


class StepFunctionsConfig(AppConfig):
    name = "stepfunctions"
    label = "stepfunctions"
    verbose_name = "Step Functions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are loaded: both reach them at import. The Celery tasks
        # register under the names services.messages sends to, in every process (a web process
        # sends messages but would import no task module of its own).
        from stepfunctions import tasks  # noqa: F401
        from stepfunctions.integrations import activities, celery_tasks, http, nested

        nested.register()
        celery_tasks.register()
        activities.register()
        http.register()
