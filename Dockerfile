# hub's image for compose.yaml: the `hub` command, running as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HUB_STATE_DIR=/var/lib/hub

WORKDIR /app

# Only what the package and its runtime need; the checkout's .venv/ and .hub/ stay out.
COPY pyproject.toml README.md ./
COPY hub/ hub/
COPY consumers/ consumers/
COPY projections/ projections/
COPY schemas/ schemas/

# Editable, so the installed `hub` package sits next to /app/schemas, where the
# schema store looks for it (hub.schemastore.DEFAULT_DIR).
RUN pip install -e . \
 && useradd --system --uid 10001 --user-group --home-dir "$HUB_STATE_DIR" \
        --create-home --shell /usr/sbin/nologin hub

USER hub

EXPOSE 8080

CMD ["hub", "serve"]
