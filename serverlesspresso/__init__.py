# The Celery app is loaded with Django so that @shared_task binds to it.
from .celery import app as celery_app

__all__ = ("celery_app",)


def var_dir_ensure() -> None:
    """Creates var/ (the embedded SQLite file, Redis socket, beat schedule, static root) when a
    command is about to write there; the settings never create directories on import."""
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
