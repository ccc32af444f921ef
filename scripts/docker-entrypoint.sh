#!/bin/sh
# Container entry point: give an empty data volume the seed index baked into the image (a copy,
# no embedding), then run the command as PID 1 so SIGTERM reaches the server directly.
set -eu
data="${SEMSEARCH_DATA_DIR:-/data}"
# With SEMSEARCH_DATABASE_URL the store is PostgreSQL: the first replica to start seeds it.
if [ -z "${SEMSEARCH_DATABASE_URL:-}" ] && [ ! -e "$data/store.sqlite3" ] \
    && [ -d /opt/semsearch/seed-data ]; then
    cp -R /opt/semsearch/seed-data/. "$data/"
    echo "semsearch: seeded $data from the index baked into the image" >&2
fi
exec "$@"
