FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Requirements first: the dependency layer stays cached while only the code changes. The running
# system's set only: the tests' and benchmarks' packages (requirements-dev.txt) stay out.
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
# serverlesspresso.asgi on uvicorn workers, one per core by default (WEB_PROCESSES): live streams
# wait on each worker's event loop, every other request runs in its pool of threads (README).
CMD ["sh", "-c", "exec gunicorn serverlesspresso.asgi --bind 0.0.0.0:8000 --workers ${WEB_PROCESSES:-2} \
     --worker-class uvicorn_worker.UvicornWorker --graceful-timeout 10 --access-logfile -"]
