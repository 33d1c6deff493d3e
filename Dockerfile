# Safetynet Airflow image: every Airflow process of docker-compose.yml (api-server,
# scheduler, dag-processor, triggerer, Celery workers, one-shot init) runs from it.
# Python and OS match the machines the lock was resolved on (3.11, Debian bookworm).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    AIRFLOW_HOME=/opt/airflow \
    SAFETYNET_HOME=/opt/safetynet

# curl: health checks of the api-server and the scheduler. gcc, libc6-dev, libssl-dev:
# the loader's compiled row filter (include/safetynet/ingest/native/rowfilter.c).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl gcc libc6-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 50000 airflow \
    && useradd --uid 50000 --gid airflow --create-home --home-dir /home/airflow airflow

# Dependencies first (a layer that changes only with the pins): the project's
# lock plus the Celery executor, resolved together, then checked for conflicts.
COPY requirements.lock requirements-celery.txt /tmp/requirements/
RUN pip install -r /tmp/requirements/requirements.lock \
        -r /tmp/requirements/requirements-celery.txt \
    && pip check \
    && rm -rf /tmp/requirements

# The runtime package (include/safetynet) is installed, not mounted: only it, never the
# development tooling of tools/ (local stack, synthetic data, benchmark, demo). It finds
# the dbt project and the checks through SAFETYNET_HOME.
COPY pyproject.toml /tmp/safetynet/
COPY include/ /tmp/safetynet/include/
RUN pip install --no-deps /tmp/safetynet && rm -rf /tmp/safetynet

# The rest is baked in (root-owned, read-only for the runtime user) so the image
# runs on its own on any host; docker-compose.yml bind-mounts these folders
# over it read-only. Only these folders are copied: never .env, .venv or var/.
WORKDIR /opt/safetynet
COPY dags/ dags/
COPY plugins/ plugins/
COPY dbt_project/ dbt_project/
COPY expectations/ expectations/
COPY docker/ docker/

# Writable state. Named volumes mounted here start as a copy of these folders,
# so they come up owned by the airflow user.
RUN mkdir -p /opt/safetynet/var/landing /opt/safetynet/var/feed /opt/safetynet/var/reports \
        /opt/safetynet/var/cosmos /opt/airflow/logs /opt/airflow/auth \
    && chown -R airflow:airflow /opt/safetynet/var /opt/airflow

# (issue 21) The commit the image is built from, for audit.rule_versions (the image has no
# .git): docker build --build-arg SAFETYNET_COMMIT=$(git rev-parse HEAD). Read by
# safetynet.explain.versions from $SAFETYNET_HOME/_build_commit.txt. Late, so a new commit
# rebuilds only the last few layers.
ARG SAFETYNET_COMMIT=unknown
RUN printf '%s\n' "$SAFETYNET_COMMIT" > /opt/safetynet/_build_commit.txt

USER airflow
# Build the row filter now (var/native); a changed rowfilter.c is rebuilt on first use.
RUN python -m safetynet.ingest.rowfilter
EXPOSE 8080
CMD ["airflow", "version"]
