# Shuttle against PostgreSQL: see docker-compose.yml.

# The pages' CSS, scripts and images (web/static is built, not kept in git): the same
# scripts/build-assets as `make setup`, from the pinned npm packages in web/assets.
FROM node:22-slim AS assets
WORKDIR /build
COPY scripts/build-assets ./scripts/build-assets
COPY web/assets ./web/assets
RUN bash scripts/build-assets

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# records.pdf in disclosure packages: WeasyPrint draws text with Pango, in these fonts.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md* ./
COPY shuttle ./shuttle
COPY policies ./policies
COPY web ./web
COPY --from=assets /build/web/static ./web/static
RUN pip install . && rm -rf build ./*.egg-info

RUN useradd --system --uid 10001 --home-dir /data --no-create-home shuttle \
    && mkdir -p /data && chown shuttle:shuttle /data && chmod 0700 /data

# policies/ and web/ are not inside the installed package: point the settings at them.
ENV SHUTTLE_ENVIRONMENT=production \
    SHUTTLE_DATA_DIR=/data \
    SHUTTLE_POLICIES_DIR=/app/policies \
    SHUTTLE_WEB_DIR=/app/web

USER shuttle
VOLUME ["/data"]
EXPOSE 8080

# `serve` migrates the database and creates the key files on first start.
CMD ["shuttle", "serve", "--host", "0.0.0.0", "--port", "8080"]
