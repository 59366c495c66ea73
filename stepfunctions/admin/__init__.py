"""Admin for the engine; importing the modules registers their ModelAdmins."""

from stepfunctions.admin import (  # noqa: F401
    access_keys,
    activities,
    connections,
    executions,
    map_runs,
    workflow,
)
