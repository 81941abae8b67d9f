# headwater's image: every process (scheduler, DAG processor, triggerer, API server, Celery
# worker, db migrate) runs from it, as `headwater <command>`. See docs/deploy.md.
#
#   docker build -t headwater:0.1.0 .
#   docker run --rm headwater:0.1.0 --help
#
# DAG files: mount them at /opt/headwater/dags (compose.yaml does), or bake them in:
#   FROM headwater:0.1.0
#   COPY dags/ /opt/headwater/dags/

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/headwater/venv
WORKDIR /build
# Only what installing the package needs (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md LICENSE ./
COPY src/ src/
RUN /opt/headwater/venv/bin/pip install ".[celery]"

FROM python:3.11-slim
# A dedicated user with a fixed uid (Kubernetes' runAsUser and the volumes' owners name it).
RUN groupadd --system --gid 10001 headwater \
 && useradd --system --uid 10001 --gid headwater --no-create-home \
        --home-dir /var/lib/headwater --shell /usr/sbin/nologin headwater \
 && mkdir -p /var/lib/headwater /opt/headwater/dags /opt/headwater/remote-logs \
 && chown headwater:headwater /var/lib/headwater /opt/headwater/remote-logs \
 && chmod 0700 /var/lib/headwater
COPY --from=build /opt/headwater/venv /opt/headwater/venv
ENV PATH=/opt/headwater/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HEADWATER_HOME=/var/lib/headwater \
    HEADWATER__CORE__DAGS_FOLDER=/opt/headwater/dags \
    HEADWATER__API__HOST=0.0.0.0
USER 10001:10001
WORKDIR /var/lib/headwater
EXPOSE 8080
ENTRYPOINT ["headwater"]
CMD ["--help"]
