"""Settings per environment: `base` (shared), `development` (manage.py's default), `test` (pytest),
`engine_only` (the engine's tests without the coffee bar) and `production` (the image, docker-compose).
Choose one with DJANGO_SETTINGS_MODULE."""
