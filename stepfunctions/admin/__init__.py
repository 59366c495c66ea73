"""Admin for the engine; importing the modules registers their ModelAdmins."""

from stepfunctions.admin import access_keys, connections, executions, workflow  # noqa: F401
