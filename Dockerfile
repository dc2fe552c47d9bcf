# syntax=docker/dockerfile:1
# hashwatch container image: slim Python, a virtualenv built in a separate stage, non-root user,
# health check on the daemon's own /healthz. Used by docker-compose.yml; also runs on its own:
#   docker build -t hashwatch .
#   docker run --rm -v ./hashwatch.yaml:/etc/hashwatch/hashwatch.yaml:ro -p 127.0.0.1:9332:9332 hashwatch
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/hashwatch
WORKDIR /src
# README.md is part of the package metadata (pyproject's readme); the build fails without it.
COPY pyproject.toml README.md ./
COPY daemon ./daemon
RUN /opt/hashwatch/bin/pip install --no-compile . \
 && /opt/hashwatch/bin/hashwatch --version

FROM python:${PYTHON_VERSION}-slim-bookworm
ARG HASHWATCH_UID=10001
ARG HASHWATCH_GID=10001
LABEL org.opencontainers.image.title="hashwatch" \
      org.opencontainers.image.description="Mining health from your own Bitcoin Core node: Prometheus metrics and alerts" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid "${HASHWATCH_GID}" hashwatch \
 && useradd --system --uid "${HASHWATCH_UID}" --gid "${HASHWATCH_GID}" \
      --home-dir /var/lib/hashwatch --no-create-home --shell /usr/sbin/nologin hashwatch \
 && install -d -o hashwatch -g hashwatch -m 0750 /var/lib/hashwatch \
 && install -d -m 0755 /etc/hashwatch
COPY --from=build /opt/hashwatch /opt/hashwatch
ENV PATH=/opt/hashwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HASHWATCH_CONFIG=/etc/hashwatch/hashwatch.yaml \
    HASHWATCH_HEALTH_URL=http://127.0.0.1:9332/healthz
USER hashwatch:hashwatch
WORKDIR /var/lib/hashwatch
VOLUME ["/var/lib/hashwatch"]
EXPOSE 9332
# /healthz answers 200 while the daemon runs (a down node is a metric, not an unhealthy daemon).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HASHWATCH_HEALTH_URL'], timeout=4)"]
ENTRYPOINT ["hashwatch"]
CMD ["run", "--state-dir", "/var/lib/hashwatch"]
