#!/usr/bin/env bash
# PostgreSQL's entry point, with the settings contract of the official postgres image (and so
# of pgvector/pgvector): on first start of an empty $PGDATA, POSTGRES_USER (default postgres)
# with POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust) and POSTGRES_DB
# (default the user's name) are created, TCP connections need the password (scram-sha-256),
# POSTGRES_INITDB_ARGS go to initdb and /docker-entrypoint-initdb.d/*.sql and *.sh run once.
# Started as root, it makes $PGDATA the postgres user's and runs the server as that user.
set -Eeuo pipefail

if [[ "${1:0:1}" == - ]]; then set -- postgres "$@"; fi

if [[ "$1" == postgres && "$(id -u)" == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

say() { echo "postgres-entrypoint: $*" >&2; }

initialize() {
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [[ -z "${POSTGRES_PASSWORD:-}" && "$auth" != trust ]]; then
        say "the database is uninitialized and POSTGRES_PASSWORD is not set"
        say "set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, for tests only)"
        exit 1
    fi
    say "initializing $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
    # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    # shellcheck disable=SC2206
    local args=(--username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust
        --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-})
    if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
        initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
    else
        initdb "${args[@]}" >/dev/null
    fi
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

    # A temporary server on a private socket and no TCP: nothing (pg_isready included) sees
    # it as ready before initialization is over.
    local socket
    socket="$(mktemp -d)"
    pg_ctl --pgdata="$PGDATA" --wait --silent \
        --options="-c listen_addresses='' -c unix_socket_directories=$socket" start
    export PGHOST="$socket" PGUSER="$POSTGRES_USER"
    local psql=(psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --no-password)
    if [[ "$POSTGRES_DB" != postgres ]]; then
        "${psql[@]}" --dbname=postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    local script
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) say "running $script"; bash "$script" ;;
            *.sql) say "running $script"; "${psql[@]}" --dbname="$POSTGRES_DB" -f "$script" ;;
            *) [[ ! -e "$script" ]] || say "ignoring $script" ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    unset PGHOST PGUSER
    rmdir "$socket"
    say "initialized; starting the server"
}

if [[ "$1" == postgres ]]; then
    if [[ -s "$PGDATA/PG_VERSION" ]]; then
        say "$PGDATA holds a database: skipping initialization"
    else
        initialize
    fi
fi
exec "$@"
