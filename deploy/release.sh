#!/bin/sh
# Once per deploy, before the web, worker and beat processes start (compose's `migrate` service,
# or by hand before `honcho start`): a fresh metrics directory, then the migrations.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    # Counters of processes from the last deploy would otherwise be summed into the new ones.
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
exec python manage.py migrate --noinput
