FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ENVIRONMENT=production HOST=0.0.0.0 PORT=8000 PERISAI_HOME=/srv/perisai

RUN useradd --create-home --uid 10001 perisai
WORKDIR /srv/perisai
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# Without the `embedded` extra: the image never starts an embedded PostgreSQL.
RUN pip install --no-cache-dir -c requirements.lock . \
    && mkdir -p /srv/perisai/.data && chown perisai:perisai /srv/perisai/.data

USER perisai
# The access-log spool lives under .data: mount a volume there so that it outlives the container.
VOLUME /srv/perisai/.data
EXPOSE 8000
# Ready: the process answers and its database does (GET /readyz; python, as the image has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/readyz\", timeout=4).status != 200)"]
# DATABASE_URL is required: the container never starts an embedded PostgreSQL.
CMD ["sh", "-c", ": \"${DATABASE_URL:?DATABASE_URL is required}\" && python -m app migrate && exec python -m app serve"]
