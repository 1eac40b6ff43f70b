# The hub image: `citylab serve` (ingest + API), `citylab simulate`, `citylab dashboards ...`.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY hub hub
COPY adapters adapters
COPY simulators simulators
COPY dashboards dashboards
RUN pip install . && useradd --system --uid 10001 citylab && mkdir -p /var/lib/citylab && chown citylab /var/lib/citylab
COPY labs labs
USER citylab
ENV CITYLAB_LABS=/app/labs CITYLAB_DATA_DIR=/var/lib/citylab
ENTRYPOINT ["citylab"]
CMD ["serve"]
