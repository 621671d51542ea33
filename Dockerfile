# Production image: the same code runs web (gunicorn), worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIGIL_VAR_DIR=/var/lib/vigil

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY incidents ./incidents
COPY escalation ./escalation
COPY notifications ./notifications
COPY metrics ./metrics
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /var/lib/vigil --create-home vigil \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R vigil /var/lib/vigil

USER vigil
EXPOSE 8000
CMD ["gunicorn", "-c", "python:config.gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
