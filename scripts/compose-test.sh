#!/usr/bin/env bash
# make compose-test: run compose.yaml, the users' two replicas over PostgreSQL with pgvector,
# in a real engine with Docker Compose v2, prove it, then remove everything this script started.
#
#  1. a Docker engine (the one `docker info` reaches, else a private dockerd) and the semsearch
#     image's base, as scripts/docker-test.sh makes them (scripts/docker-engine.sh);
#  2. Docker Compose v2: `docker compose` if the CLI has it, else the binary of Debian trixie's
#     docker-compose package, fetched from DEBIAN_MIRROR (signature and checksums verified
#     against the host's Debian keyring) and kept as .docker/docker-compose;
#  3. semsearch:latest, built by scripts/docker-build.sh (the tag compose.yaml runs), and
#     semsearch-pgvector:pg17, PostgreSQL 17 + pgvector from trixie's packages with the official
#     image's settings contract (scripts/postgres-image): its root filesystem is made with
#     debootstrap and cached as .docker/postgres-trixie.tar;
#  4. compose.yaml unchanged, plus scripts/compose.test.yaml, which only swaps the db image for
#     that one (tests/test_compose.py holds it to that), under a project name of its own with a
#     random SEMSEARCH_DB_PASSWORD: both replicas ready on 127.0.0.1:8001 and :8002, the
#     database seeded exactly once, scripts/docker_smoke.py against each replica, a write
#     through replica1 read through replica2 (and the other way), the server's version,
#     pgvector's and its iterative scans, password auth over TCP, a non-root server;
#  5. `compose stop` (PostgreSQL's fast shutdown, exit 0; the replicas' clean shutdown) and
#     `compose start`: the data survived, no second initialization or seeding;
#  6. `compose down -v`: containers, network and the database volume gone.
#
# REUSE_IMAGE=1 runs the engine's semsearch:latest if it has one instead of building it (for a
# quick rerun against a running engine; the proof is then of that image, not of this checkout).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d /tmp/semsearch-compose.XXXXXX)"
LOG_NAME=compose-test
PROJECT="semsearch-compose-test-$$"
SMOKE_PYTHON="${SMOKE_PYTHON:-python3}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
DEBIAN_KEYRING="${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
PG_SUITE=trixie  # Debian 13: postgresql-17, postgresql-17-pgvector 0.8, docker-compose 2.x
PG_BASE="semsearch-postgres-base:$PG_SUITE"
DB_IMAGE="semsearch-pgvector:pg17"  # what scripts/compose.test.yaml names
REPLICAS=(http://127.0.0.1:8001 http://127.0.0.1:8002)  # compose.yaml's ports
COMPOSE=()
UP=""  # set once `compose up` ran: the EXIT trap takes the project down
# log, now, since, install_if_missing, ensure_engine, stop_engine, ensure_base,
# debootstrap_image, CACHE
# shellcheck source=scripts/docker-engine.sh
source "$ROOT/scripts/docker-engine.sh"

compose() {
    "${COMPOSE[@]}" --project-name "$PROJECT" --project-directory "$ROOT" \
        -f "$ROOT/compose.yaml" -f "$ROOT/scripts/compose.test.yaml" "$@"
}

cleanup() {
    local status=$?
    set +e
    if [[ -n "$UP" ]]; then
        [[ $status -eq 0 ]] || compose logs --no-color --tail 30 >&2
        compose down --volumes --remove-orphans --timeout 30 >/dev/null 2>&1
    fi
    docker rmi "$DB_IMAGE" >/dev/null 2>&1
    docker image prune -f --filter "label=semsearch.stage=build" >/dev/null 2>&1
    stop_engine
    rm -rf "$WORK"
    [[ $status -eq 0 ]] || log "FAILED (exit $status)"
    exit "$status"
}
trap cleanup EXIT INT TERM

fail() { log "$*"; exit 1; }

sha256_is() {  # file, expected digest
    [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]] || fail "$1: checksum mismatch"
}

# Docker Compose v2 as COMPOSE: the CLI's plugin, else Debian's docker-compose binary.
ensure_compose() {
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    else
        local bin="$CACHE/docker-compose"
        [[ -x "$bin" ]] || fetch_debian_compose "$bin"
        COMPOSE=("$bin")
    fi
    log "using ${COMPOSE[*]}: $("${COMPOSE[@]}" version)"
}

fetch_debian_compose() {  # destination
    install_if_missing gpgv gpgv
    local arch dists entry packages fields deb
    arch="$(dpkg --print-architecture)"
    dists="$DEBIAN_MIRROR/dists/$PG_SUITE"
    entry="main/binary-$arch/Packages.xz"
    log "fetching docker-compose from Debian $PG_SUITE ($DEBIAN_MIRROR)"
    curl -fsSL "$dists/InRelease" -o "$WORK/InRelease"
    # the signed Release lists the Packages index's digest, the index the .deb's
    gpgv --keyring "$DEBIAN_KEYRING" --output "$WORK/Release" "$WORK/InRelease" 2>"$WORK/gpgv.log" \
        || { cat "$WORK/gpgv.log" >&2; fail "bad signature on $dists/InRelease"; }
    packages="$(awk -v f="$entry" '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 }
        s && $3 == f { print $1 }' "$WORK/Release")"
    [[ -n "$packages" ]] || fail "$entry is not in $dists/InRelease"
    curl -fsSL "$dists/$entry" -o "$WORK/Packages.xz"
    sha256_is "$WORK/Packages.xz" "$packages"
    read -r -a fields <<<"$(xz -dc "$WORK/Packages.xz" | awk -v RS= -F '\n' '
        $1 == "Package: docker-compose" {
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^Filename: /) file = substr($i, 11)
                if ($i ~ /^SHA256: /) sum = substr($i, 9)
                if ($i ~ /^Version: /) version = substr($i, 10)
            }
            print file, sum, version; exit
        }')"
    [[ ${#fields[@]} -eq 3 ]] || fail "no docker-compose package in $dists"
    deb="$WORK/docker-compose.deb"
    curl -fsSL "$DEBIAN_MIRROR/${fields[0]}" -o "$deb"
    sha256_is "$deb" "${fields[1]}"
    dpkg-deb -x "$deb" "$WORK/compose-deb"
    mkdir -p "$(dirname "$1")"
    cp "$WORK/compose-deb/usr/libexec/docker/cli-plugins/docker-compose" "$1.part"
    chmod 755 "$1.part" && mv "$1.part" "$1"
    log "docker-compose ${fields[2]} (Debian $PG_SUITE) in $1"
}

in_rootfs() {  # rootfs, command...: run in a chroot, output to the log
    local rootfs="$1"
    shift
    chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive "$@" >>"$WORK/postgres-rootfs.log" 2>&1 \
        || { tail -30 "$WORK/postgres-rootfs.log" >&2; fail "in the $PG_SUITE rootfs: $*"; }
}

# debootstrap_image's setup for PostgreSQL: the official image's user (uid and gid 999), then
# the packages from trixie with its updates and security fixes, no cluster made, no service
# started.
postgres_rootfs() {  # rootfs
    local rootfs="$1"
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $PG_SUITE main
deb $DEBIAN_MIRROR $PG_SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $PG_SUITE-security main
EOF
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    in_rootfs "$rootfs" groupadd --system --gid 999 postgres
    in_rootfs "$rootfs" useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql \
        --no-create-home --shell /bin/bash postgres
    in_rootfs "$rootfs" apt-get update
    in_rootfs "$rootfs" apt-get -y upgrade
    in_rootfs "$rootfs" apt-get install -y --no-install-recommends postgresql-common
    sed -ri 's/#(create_main_cluster) .*$/\1 = false/' "$rootfs/etc/postgresql-common/createcluster.conf"
    in_rootfs "$rootfs" apt-get install -y --no-install-recommends postgresql-17 postgresql-17-pgvector
    in_rootfs "$rootfs" apt-get clean
    rm -f "$rootfs/usr/sbin/policy-rc.d"
    : >"$rootfs/etc/resolv.conf"
    [[ ! -e "$rootfs/var/lib/postgresql/17/main" ]] || fail "the packages made a cluster"
}

build_postgres() {
    if docker image inspect "$PG_BASE" >/dev/null 2>&1; then
        log "reusing $PG_BASE"
    else
        debootstrap_image "$PG_BASE" "$CACHE/postgres-$PG_SUITE.tar" "$PG_SUITE" "" postgres_rootfs
    fi
    DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$PG_BASE" --tag "$DB_IMAGE" \
        "$ROOT/scripts/postgres-image" >"$WORK/postgres-build.log" 2>&1 \
        || { tail -20 "$WORK/postgres-build.log" >&2; fail "building $DB_IMAGE failed"; }
}

port_free() {  # port on 127.0.0.1
    "$SMOKE_PYTHON" -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" \
        2>/dev/null
}

wait_ready() {  # service, url
    for _ in $(seq 1500); do
        curl -sf "$2/readyz" >/dev/null 2>&1 && return
        sleep 0.2
    done
    fail "$1 not ready at $2/readyz after 300 s"
}

db_sql() {  # SQL -> the rows, unaligned, over the server's own socket (local trust)
    compose exec -T db psql --no-psqlrc --quiet -At -v ON_ERROR_STOP=1 -U semsearch -d semsearch -c "$1"
}

container_of() { compose ps --all --quiet "$1"; }

ensure_engine
ensure_base
ensure_compose
for url in "${REPLICAS[@]}"; do
    port_free "${url##*:}" || fail "127.0.0.1:${url##*:} is taken: compose.yaml publishes its replicas there"
done

started="$(now)"
build_postgres
postgres_seconds="$(since "$started")"
log "built $DB_IMAGE in ${postgres_seconds} s"
started="$(now)"
if [[ -n "${REUSE_IMAGE:-}" ]] && docker image inspect semsearch:latest >/dev/null 2>&1; then
    semsearch_built="reused (REUSE_IMAGE)"
    log "REUSE_IMAGE: reusing the engine's semsearch:latest, not built from this checkout"
else
    IMAGE=semsearch:latest BASE_IMAGE="$BASE_IMAGE" "$ROOT/scripts/docker-build.sh" >"$WORK/build.log" 2>&1 \
        || { tail -40 "$WORK/build.log" >&2; fail "scripts/docker-build.sh failed"; }
    semsearch_built="built in $(since "$started") s"
    log "semsearch:latest $semsearch_built"
fi

# What runs is compose.yaml's, but for the database image.
SEMSEARCH_DB_PASSWORD="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export SEMSEARCH_DB_PASSWORD
images="$(compose config --images | sort -u | tr '\n' ' ')"
[[ "$images" == "$DB_IMAGE semsearch:latest " ]] || fail "compose would run: $images"

UP=1
started="$(now)"
compose up --detach --pull never --quiet-pull 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; fail "compose up"; }
wait_ready replica1 "${REPLICAS[0]}"
wait_ready replica2 "${REPLICAS[1]}"
ready_seconds="$(since "$started")"
log "both replicas ready ${ready_seconds} s after compose up"

# Seeded exactly once, by one of the two replicas that started together: one seeding in their
# logs, and the seed corpus's 5 documents and 65 chunks each seen once by both.
logs="$(compose logs --no-color replica1 replica2 2>&1)"
seedings="$(grep -c 'indexed 5 seed documents' <<<"$logs" || true)"
[[ "$seedings" == 1 ]] || fail "the seed corpus was indexed $seedings times"
for url in "${REPLICAS[@]}"; do
    [[ "$(curl -sf "$url/readyz")" == *'"documents":5,"vectors":65'* ]] || fail "$url/readyz: $(curl -s "$url/readyz")"
    [[ "$(curl -sf "$url/v1/stats")" == *'"backend":"postgresql"'* ]] || fail "$url is not on PostgreSQL"
done
[[ "$(db_sql 'SELECT count(*), count(DISTINCT id) FROM documents')" == "5|5" ]] || fail "documents in the database"
[[ "$(db_sql 'SELECT count(*) FROM chunks')" == 65 ]] || fail "chunks in the database"
log "seeded once: 1 seeding in the replicas' logs, 5 documents and 65 chunks in the database"

# The smoke test against each replica, each reading what the other wrote.
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "${REPLICAS[0]}" fresh      # writes through 1
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "${REPLICAS[1]}" restarted  # ... read through 2
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "${REPLICAS[1]}" fresh
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "${REPLICAS[0]}" restarted
log "docker_smoke on both replicas: a write through replica1 read through replica2, and back"

# The database is what compose.yaml asks of pgvector/pgvector:pg17.
version="$(db_sql 'SHOW server_version')"
[[ "$(db_sql 'SHOW server_version_num')" == 17???? ]] || fail "PostgreSQL $version, not 17"
vector="$(db_sql "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
[[ "$(printf '%s\n' 0.8.0 "$vector" | sort -V | head -1)" == 0.8.0 ]] || fail "pgvector $vector < 0.8"
[[ "$(db_sql "LOAD 'vector'; SET hnsw.iterative_scan = relaxed_order; SHOW hnsw.iterative_scan")" == relaxed_order ]] \
    || fail "no hnsw.iterative_scan"
# shellcheck disable=SC2016  # awk's own field
uid="$(compose exec -T db awk '/^Uid:/ { print $2 }' /proc/1/status)"
[[ "$(compose exec -T db cat /proc/1/comm)" == postgres && "$uid" != 0 ]] || fail "the server runs as uid $uid"
compose exec -T -e PGPASSWORD=wrong db psql -h db -U semsearch -d semsearch -c 'SELECT 1' \
    >/dev/null 2>"$WORK/refused.log" && fail "a wrong password was accepted over TCP"
grep -q 'password authentication failed' "$WORK/refused.log" || { cat "$WORK/refused.log" >&2; fail "refused, but not for the password"; }
# shellcheck disable=SC2016  # dpkg-query's own fields
packages="$(compose exec -T db dpkg-query -W -f '${Package} ${Version}, ' postgresql-17 postgresql-17-pgvector)"
log "database: PostgreSQL $version, pgvector $vector with iterative scans, uid $uid, TCP needs the password (${packages%, })"

# Stopped (the replicas first: they depend on the database) and started again.
db="$(container_of db)"
compose stop --timeout 30 2>/dev/null
[[ "$(docker inspect -f '{{.State.ExitCode}}' "$db")" == 0 ]] || fail "the database exited $(docker inspect -f '{{.State.ExitCode}}' "$db")"
db_logs="$(docker logs "$db" 2>&1)"
[[ "$db_logs" == *"fast shutdown request"*"database system is shut down"* ]] || fail "no fast, clean shutdown of the database"
for service in replica1 replica2; do
    replica_logs="$(docker logs "$(container_of "$service")" 2>&1)"
    [[ "$replica_logs" == *"Application shutdown complete"* ]] || fail "no clean shutdown of $service"
done
started="$(now)"
compose start 2>/dev/null
wait_ready replica1 "${REPLICAS[0]}"
wait_ready replica2 "${REPLICAS[1]}"
restart_seconds="$(since "$started")"
for url in "${REPLICAS[@]}"; do
    [[ "$(curl -sf "$url/readyz")" == *'"documents":7,'* ]] || fail "$url after the restart: $(curl -s "$url/readyz")"
done
db_logs="$(docker logs "$db" 2>&1)"
[[ "$(grep -c 'initializing /var/lib/postgresql/data' <<<"$db_logs")" == 1 \
    && "$db_logs" == *"holds a database: skipping initialization"* ]] || fail "the database was initialized again"
logs="$(compose logs --no-color replica1 replica2 2>&1)"
[[ "$(grep -c 'indexed 5 seed documents' <<<"$logs")" == 1 ]] || fail "the restart seeded again"
log "stopped (fast shutdown, exit 0) and started: ready again ${restart_seconds} s later, 7 documents, no second initialization or seeding"

compose down --volumes --remove-orphans --timeout 30 2>/dev/null
UP=""
left="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT")"
[[ -z "$left" ]] || fail "compose down -v left: $left"

cpu="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') x $(nproc)"
log "OK on $cpu: semsearch:latest $semsearch_built, $DB_IMAGE in ${postgres_seconds} s, both replicas ready ${ready_seconds} s after compose up (${restart_seconds} s after compose start)"
