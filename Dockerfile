# syntax=docker/dockerfile:1
# One image for every process: web, Celery workers (scan/index/notify, ocr), beat and the outbox relay.
#   docker compose build           # builds this file once (see docker-compose.yml)
#   docker compose up -d           # migrates, then starts everything
# The processes start through ./run, exactly as on a plain machine; ./run finds the virtual environment ready.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the virtual environment with every pinned dependency -------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv .venv
# CPU builds of torch and torchvision from PyTorch's wheel index: PyPI's Linux wheels pull in ~3 GB of CUDA
# libraries a CPU worker never loads. The versions are pyproject.toml's pins (a test checks they agree).
RUN .venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1+cpu torchvision==0.29.1+cpu
# The remaining pins, in their own layer: a source change does not reinstall them.
COPY pyproject.toml README.md ./
RUN .venv/bin/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && .venv/bin/pip install -r /tmp/requirements.txt

# ---- runtime: the environment (the OCR models ship inside the rapidocr wheel) and the source; no compilers ------
FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --create-home --uid 10001 app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MEDIA_ROOT=/data/media
COPY --from=build /app/.venv .venv
COPY run manage.py pyproject.toml README.md ./
COPY anticounterfeit anticounterfeit
COPY ml ml
COPY workers workers
COPY templates templates
# Static files collected at build time (whitenoise serves them); ./run's set-up finds the environment installed.
RUN python manage.py collectstatic --noinput \
    && touch ".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)" \
    && mkdir -p /data/media \
    && chown -R app:app /app/var /data/media
USER app
EXPOSE 8000
CMD ["./run", "web"]
