"""Moving the test database between migration states, as `manage.py migrate` would."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def leaves() -> list:
    """The latest migration of every app: where a test leaves the database."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def historical_apps(nodes):
    """The models as they were at `nodes` (and their dependencies)."""
    return MigrationExecutor(connection).loader.project_state(nodes).apps
