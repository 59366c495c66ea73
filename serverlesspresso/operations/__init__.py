"""Running the shop for real: health, heartbeats, metrics, logs and the public URL.

Nothing here is on the workflow's hot path: the engine calls at most one function per stage or
callback, and Celery's signals carry the rest (celery_hooks).
"""
