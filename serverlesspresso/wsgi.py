"""The WSGI application, for a WSGI server of your own (tests/processes.py runs it in gunicorn's
gthread workers). The shapes this project ships serve serverlesspresso.asgi instead: under WSGI
each open live stream holds one of the server's threads for LIVE_STREAM_SECONDS."""

import os

from django.core.wsgi import get_wsgi_application

from serverlesspresso.database_bounds import web_bounds_install

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.production")
application = get_wsgi_application()
# Before any request opens a connection: the web's lock and statement bounds.
web_bounds_install()
