# syntax=docker/dockerfile:1
#
# propdesk's image: one image for every process, chosen by the command (the entrypoint is
# `propdesk`): `serve` (the site; alone it also runs the worker and the monitor), `worker`,
# `monitor`, `sandbox feed`, `manage migrate`, `staff create`, ... See compose.yaml and
# docs/operations.md.
#
#   docker build -t propdesk .
#   docker run --rm propdesk --help
#
# Two stages: the first builds wheels (it may compile) and installs them into a virtualenv; the
# second is a clean slim Python with that virtualenv copied in: no compilers, no pip cache, no
# test or lint tools (only the runtime `dependencies` of pyproject.toml, never the `dev` extra).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Every dependency has a wheel for amd64 and arm64 today; the compiler is there for the day one
# does not (it stays in this stage).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Packages a firm adds, pinned, e.g. --build-arg EXTRA_PACKAGES="django-storages[s3]==1.14.6"
# to keep identity documents in S3 (docs/kyc-documents.md). None by default.
ARG EXTRA_PACKAGES=""

# The pinned runtime dependencies first, in a layer of their own: a change to propdesk's code
# does not download them again.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip wheel --wheel-dir /wheels -r requirements.txt ${EXTRA_PACKAGES}

COPY README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/propdesk \
    && /opt/propdesk/bin/pip install --no-index --find-links /wheels propdesk ${EXTRA_PACKAGES}

# Static files are collected here, at build time, into the image (not the data volume): every
# container of one image serves the same files, no container needs to write them, and an
# upgrade never finds an older version's files in the volume. (A container run with a read-only
# root file system needs a tmpfs at /tmp: uploads over 2.5 MB, such as identity documents, are
# spooled there.) With PROPDESK_STATIC_DIR set,
# `propdesk serve` uses them as they are. Settings need a secret key and a folder to load; both
# are thrown away.
ENV PROPDESK_STATIC_DIR=/opt/propdesk/static
RUN PROPDESK_SECRET_KEY=only-to-collect-static-files PROPDESK_VAR_DIR=/tmp/collect \
    /opt/propdesk/bin/propdesk manage collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/collect

# --- the image ---------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="propdesk" \
      org.opencontainers.image.description="Back office and client portal for proprietary-trading firms" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

# pg_dump and pg_restore, for `propdesk backup` and `propdesk restore` (docs/backups.md): Debian
# 12's, of PostgreSQL 15, the major version of compose.yaml's server (pg_dump must be at least
# as new as the server it dumps).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# A user of its own, without a login shell, owning only the data folder.
RUN groupadd --system --gid 10001 propdesk \
    && useradd --system --uid 10001 --gid propdesk --home-dir /var/lib/propdesk \
        --no-create-home --shell /usr/sbin/nologin propdesk \
    && install -d -o propdesk -g propdesk -m 0700 /var/lib/propdesk

# Owned by root and read-only to propdesk: code and static files cannot be changed at run time.
COPY --from=build /opt/propdesk /opt/propdesk

# PROPDESK_VAR_DIR holds what must outlive a container: identity documents (private/), and on a
# single machine the generated secret key and vault keys when the env file sets none.
# GUNICORN_CMD_ARGS: gunicorn's worker heartbeat files in memory, as its documentation advises
# for containers (a disk-backed /tmp can block a worker).
ENV PATH=/opt/propdesk/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROPDESK_VAR_DIR=/var/lib/propdesk \
    PROPDESK_STATIC_DIR=/opt/propdesk/static \
    GUNICORN_CMD_ARGS="--worker-tmp-dir /dev/shm"

USER 10001:10001
WORKDIR /var/lib/propdesk
VOLUME ["/var/lib/propdesk"]
EXPOSE 8000

# Alive, not ready: /healthz answers while the process serves. Readiness (/readyz: the database,
# the migrations, the worker and the monitor) is for the proxy or orchestrator to ask; a web
# container is not restarted because the monitor is away. The probe is a plain GET that follows
# no redirect (propdesk answers /healthz before the host check and the redirect to HTTPS):
# src/propdesk/ops/probe.py. The worker, monitor and feed serve no HTTP: compose.yaml turns the
# check off for them.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "propdesk.ops.probe", "http://127.0.0.1:8000/healthz"]

ENTRYPOINT ["propdesk"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
