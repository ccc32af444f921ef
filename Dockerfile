# semsearch as a container for pipelines: the packaged model (as ONNX) and the seed index
# baked in, non-root, data in a volume at /data.
#
# The build installs from a wheelhouse made on the host (scripts/docker-build.sh, which
# `make docker-image` runs), so it needs no network, no CA bundle and no credentials.
# BASE_IMAGE: any Debian-based Python 3.11 image; scripts/docker-test.sh builds a local one
# with debootstrap where no registry serves base images.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Lets scripts/docker-test.sh remove this stage's image (the legacy builder keeps it).
LABEL semsearch.stage=build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
COPY .docker/wheelhouse/ /wheelhouse/
# --no-index: every wheel comes from the wheelhouse, torch's CPU build included (it only
# exports the model, below). Packages' own test suites (112 MB) are never loaded: dropped.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheelhouse semsearch \
    && find /opt/venv/lib/python3.11/site-packages -depth -type d -name tests -exec rm -rf {} + \
    && /opt/venv/bin/python -c "import torch; assert not torch.version.cuda, torch.version.cuda"
COPY seeds/ /opt/semsearch/seeds/
# Bake the seed index exactly as a first `serve` would make it, and with it the model's ONNX
# export (made once from the packaged weights). The server runs the model with ONNX Runtime
# and never imports what only the export needs (torch, transformers, onnx, and
# sentence-transformers with scipy and scikit-learn): they go, about 1 GB, and pip with them.
# The server makes its data directory and the lexical index's private (0700); the baked one is
# a template the entrypoint copies from as the runtime user, so it is opened up again.
RUN SEMSEARCH_DATA_DIR=/opt/semsearch/seed-data SEMSEARCH_SEED_DIR=/opt/semsearch/seeds \
    SEMSEARCH_MODEL_CACHE_DIR=/opt/semsearch/models \
    /opt/venv/bin/semsearch seed \
    && chmod -R go+rX /opt/semsearch/seed-data \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet \
       torch sentence-transformers transformers onnx scipy scikit-learn \
    && /opt/venv/bin/python -c "import service.app, service.cli" \
    && /opt/venv/bin/python -m pip uninstall --yes --quiet pip

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    SEMSEARCH_HOST=0.0.0.0 \
    SEMSEARCH_PORT=8000 \
    SEMSEARCH_DATA_DIR=/data \
    SEMSEARCH_SNAPSHOT_DIR=/snapshots \
    SEMSEARCH_SEED_DIR=/opt/semsearch/seeds \
    SEMSEARCH_MODEL_CACHE_DIR=/opt/semsearch/models
RUN groupadd --system --gid 10001 semsearch \
    && useradd --system --uid 10001 --gid semsearch --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin semsearch \
    && mkdir /data /snapshots \
    && chown semsearch:semsearch /data /snapshots
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/semsearch /opt/semsearch
COPY scripts/docker-entrypoint.sh /usr/local/bin/semsearch-entrypoint
USER 10001:10001
VOLUME ["/data", "/snapshots"]
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
ENTRYPOINT ["semsearch-entrypoint"]
CMD ["semsearch", "serve"]
