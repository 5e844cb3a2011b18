FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ENVIRONMENT=production HOST=0.0.0.0 PORT=8000 PERISAI_HOME=/srv/perisai

RUN useradd --create-home --uid 10001 perisai
WORKDIR /srv/perisai
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -c requirements.lock . \
    && mkdir -p /srv/perisai/.data && chown perisai:perisai /srv/perisai/.data

USER perisai
# The access-log spool lives under .data: mount a volume there so that it outlives the container.
VOLUME /srv/perisai/.data
EXPOSE 8000
# DATABASE_URL is required: the container never starts an embedded PostgreSQL.
CMD ["sh", "-c", ": \"${DATABASE_URL:?DATABASE_URL is required}\" && python -m app migrate && exec python -m app serve"]
