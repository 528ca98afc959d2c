# The LRS as a container: `docker compose up` runs it beside MongoDB (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY lrs ./lrs
COPY statement_schemas ./statement_schemas
COPY profiles ./profiles
RUN pip install . \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --user-group lrs

USER lrs
WORKDIR /home/lrs

# LRS_DATABASE_URL: mongodb://... (compose sets it); without it, an SQLite file in /home/lrs.
ENV LRS_WORKERS=2
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/xapi/about', timeout=2).status != 200)"]
CMD ["sh", "-c", "exec lrs serve --host 0.0.0.0 --port 8000 --workers \"$LRS_WORKERS\""]
