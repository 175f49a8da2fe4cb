# The connector runtime, `data-interaction-client run`, in a container (see docs/production.md).
#
#   docker build -t data-interaction-connector .
#   docker run -v $PWD/boiler.py:/opt/connector/boiler.py:ro -v $PWD/boiler.yaml:/etc/connector/connector.yaml:ro \
#     -v boiler-spool:/var/lib/connector/spool -e DATA_INTERACTION_URL=http://platform:8000 \
#     -e PLATFORM_TOKEN -p 9100:9100 data-interaction-connector run boiler:Boiler \
#     --config /etc/connector/connector.yaml --spool /var/lib/connector/spool --metrics 0.0.0.0:9100
#
# The connector's module is mounted into /opt/connector (on the import path), or installed by an
# image built FROM this one (`RUN pip install my-connector`, which has its own dependencies).
ARG PYTHON_VERSION=3.13

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
# .dockerignore lets in only what building the package reads (its sources, the contract, the
# build's metadata files): the tests, docs and a developer's .venv stay out of the image.
COPY . .
# The runtime's extras only: the connector extra (settings, pydantic, /metrics) and the command line.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir '.[connector,cli]'

FROM python:${PYTHON_VERSION}-slim
# A system user with no shell and no password owns the spool: the connector never runs as root.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/connector --shell /usr/sbin/nologin connector \
    && mkdir -p /var/lib/connector/spool /etc/connector /opt/connector \
    && chown -R connector:connector /var/lib/connector
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/connector \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /opt/connector
USER connector
# The spool holds every point not yet accepted: on a volume, it outlives the container.
VOLUME ["/var/lib/connector/spool"]
# /metrics (Prometheus) and /healthz, with --metrics 0.0.0.0:9100.
EXPOSE 9100
# /healthz answers 503 while the run is critical (token refused, quarantine, full spool or disk, the
# platform unreachable too long); urlopen raises on it, as on no answer at all. No curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/healthz', timeout=4)"]
# SIGTERM (docker stop, Kubernetes) stops the run cleanly: it delivers for --close-timeout seconds
# (10 by default) and keeps the rest in the spool; give the container more than that to stop.
STOPSIGNAL SIGTERM
ENTRYPOINT ["data-interaction-client"]
CMD ["run", "connector:Connector", "--config", "/etc/connector/connector.yaml", \
     "--spool", "/var/lib/connector/spool", "--metrics", "0.0.0.0:9100"]
