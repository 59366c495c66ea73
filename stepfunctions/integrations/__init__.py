"""Task resources built on the engine's services (nested executions). Each registers itself (the
resources registry, hooks) from stepfunctions.apps; the services never name them."""
