FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Requirements first: the dependency layer stays cached while only the code changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The admin's and the pages' static files, served by whitenoise from gunicorn.
ENV DJANGO_SETTINGS_MODULE=serverlesspresso.settings.production
# The image runs the production settings; collectstatic needs their two required values.
RUN DJANGO_SECRET_KEY=collectstatic DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --noinput

# Not root: Celery warns against running as root, and a compromised process should own little.
# var/ is where beat keeps its schedule file; /run/prometheus the processes' shared metrics
# (a named volume mounted there starts with this owner).
RUN useradd --create-home --uid 1000 app \
    && mkdir -p var /run/prometheus \
    && chown app:app var /run/prometheus
USER app

EXPOSE 8000
# gthread with many threads: each open page holds one for its live event stream.
CMD ["gunicorn", "serverlesspresso.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--threads", "32", \
     "--access-logfile", "-"]
