#!/bin/sh
# Container entry point: give an empty data volume the seed index baked into the image (a copy,
# no embedding), then run the command as PID 1 so SIGTERM reaches the server directly (a bare
# semsearch command, `support --input ...`, runs as `semsearch support --input ...`).
set -eu
data="${SEMSEARCH_DATA_DIR:-/data}"
# With SEMSEARCH_DATABASE_URL the store is PostgreSQL: the first replica to start seeds it.
if [ -z "${SEMSEARCH_DATABASE_URL:-}" ] && [ ! -e "$data/store.sqlite3" ] \
    && [ -d /opt/semsearch/seed-data ]; then
    cp -R /opt/semsearch/seed-data/. "$data/"
    echo "semsearch: seeded $data from the index baked into the image" >&2
fi
# `docker run IMAGE support --input ...`: a semsearch command alone runs as semsearch's.
case "${1:-}" in
    serve | seed | ingest | search | support | eval | check | reindex | migrate | collections | snapshot)
        exec semsearch "$@" ;;
esac
exec "$@"
