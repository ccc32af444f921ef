#!/usr/bin/env bash
# make docker-test: build the image and prove it in a real Docker engine, then remove
# everything this script started.
#
#  1. a Docker engine: the one `docker info` reaches, else a private dockerd (as root) with its
#     data and exec roots in a temp dir (Debian's docker.io is installed if missing);
#  2. a base image: BASE_IMAGE if given, else semsearch-base:bookworm made with debootstrap from
#     Debian's packages (python3, python3-venv), cached as .docker/base-bookworm.tar for reuse;
#  3. the image, built by scripts/docker-build.sh from a host-made wheelhouse (no network in
#     the build); its size must stay under 1.5 GB and it must hold no CUDA libraries;
#  4. a container on a fresh named volume: time to /readyz, HEALTHCHECK healthy, non-root,
#     search and find-supporting-passages with exact citations (scripts/docker_smoke.py), the
#     search page, a write, a restart (SIGTERM), the write still there;
#  5. a container on an empty bind-mounted directory: seeded from the baked index and ready;
#  6. two replicas on one PostgreSQL (started by tests/postgres.py on the host, reached over
#     the host network) starting together: seeded once, a write through one read through the
#     other.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="semsearch:docker-test-$$"
NAME="semsearch-docker-test-$$"
SMOKE_PYTHON="${SMOKE_PYTHON:-python3}"
MAX_IMAGE_BYTES=1500000000
WORK="$(mktemp -d /tmp/semsearch-docker.XXXXXX)"
LOG_NAME=docker-test
CONTAINERS=()
PG=()  # url, root, port of the PostgreSQL step 6 starts
# log, now, since, install_if_missing, ensure_engine, stop_engine, ensure_base (BASE_IMAGE)
# shellcheck source=scripts/docker-engine.sh
source "$ROOT/scripts/docker-engine.sh"

cleanup() {
    local status=$?
    set +e
    for container in "${CONTAINERS[@]}"; do docker rm -f "$container" >/dev/null 2>&1; done
    docker volume rm "$NAME" >/dev/null 2>&1
    docker rmi -f "$IMAGE" >/dev/null 2>&1
    docker image prune -f --filter "label=semsearch.stage=build" >/dev/null 2>&1
    [[ ${#PG[@]} -eq 0 ]] || (cd "$ROOT" && .venv/bin/python -m tests.postgres stop "${PG[1]}" "${PG[2]}")
    stop_engine
    rm -rf "$WORK"
    [[ $status -eq 0 ]] || log "FAILED (exit $status)"
    exit "$status"
}
trap cleanup EXIT INT TERM

wait_ready() {  # container -> prints the URL once /readyz answers 200
    local port
    port="$(docker port "$1" 8000/tcp | head -1 | sed 's/.*://')"
    for _ in $(seq 600); do
        if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then echo "http://127.0.0.1:$port"; return; fi
        [[ "$(docker inspect -f '{{.State.Running}}' "$1")" == true ]] || break
        sleep 0.1
    done
    docker logs "$1" 2>&1 | tail -30 >&2
    log "$1 did not become ready"
    exit 1
}

wait_healthy() {
    for _ in $(seq 120); do
        [[ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" == healthy ]] && return
        sleep 0.5
    done
    log "$1 never reported healthy"
    exit 1
}

run_container() {  # name, volume spec -> starts it on a random loopback port
    CONTAINERS+=("$1")
    docker run -d --name "$1" -p 127.0.0.1::8000 -v "$2" "$IMAGE" >/dev/null
}

ensure_engine
ensure_base

started="$(now)"
IMAGE="$IMAGE" BASE_IMAGE="$BASE_IMAGE" "$ROOT/scripts/docker-build.sh" >"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log" >&2; exit 1; }
build_seconds="$(since "$started")"
size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
log "built $IMAGE in ${build_seconds} s: $size bytes"
(( size < MAX_IMAGE_BYTES )) || { log "image is $size bytes, over $MAX_IMAGE_BYTES"; exit 1; }
cuda="$(docker run --rm --entrypoint sh "$IMAGE" -c \
    'find /opt/venv /usr -name "libcuda*" -o -name "libcudart*" -o -name "libcublas*" -o -name "nvidia" -type d | head -5')"
[[ -z "$cuda" ]] || { log "CUDA libraries in the image: $cuda"; exit 1; }

docker volume create "$NAME" >/dev/null
started="$(now)"
run_container "$NAME" "$NAME:/data"
url="$(wait_ready "$NAME")"
ready_seconds="$(since "$started")"
log "ready ${ready_seconds} s after docker run, at $url"
wait_healthy "$NAME"
[[ "$(docker exec "$NAME" id -u)" != 0 ]] || { log "the server runs as root"; exit 1; }
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "$url" fresh
[[ "$(curl -sf "$url/")" == *"<title>semsearch</title>"* ]] || { log "no search page at /"; exit 1; }

docker restart -t 30 "$NAME" >/dev/null
# (captured first: grep -q closing the pipe early would fail the pipeline under pipefail)
logs="$(docker logs "$NAME" 2>&1)"
[[ "$logs" == *"Application shutdown complete"* ]] || { log "no clean shutdown on SIGTERM"; exit 1; }
url="$(wait_ready "$NAME")"
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "$url" restarted

# A pipeline step: the image run once on the data volume (the server stopped: one process owns
# a data directory), claims in and verdicts out as JSON lines, each equal to the API's answer.
mkdir -p "$WORK/pipe" && chown 10001:10001 "$WORK/pipe"
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "$url" claims "$WORK/pipe"
docker stop -t 30 "$NAME" >/dev/null
docker run --rm -v "$NAME:/data" -v "$WORK/pipe:/in" "$IMAGE" \
    support --input /in/claims.jsonl --output /in/verdicts.jsonl && status=0 || status=$?
[[ "$status" == 1 ]] || { log "the one-shot support run exited $status, not 1 (one bad line)"; exit 1; }
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "$url" verdicts "$WORK/pipe"
# the README's form: standard input to standard output
docker run --rm -i -v "$NAME:/data" "$IMAGE" support --input - \
    <"$WORK/pipe/claims.jsonl" >"$WORK/pipe/verdicts.jsonl" && status=0 || status=$?
[[ "$status" == 1 ]] || { log "the one-shot run on stdin exited $status, not 1"; exit 1; }
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "$url" verdicts "$WORK/pipe"
log "one-shot support --input (a file, and stdin): every line as the API answers it"

mkdir -p "$WORK/bind" && chown 10001:10001 "$WORK/bind"
run_container "$NAME-bind" "$WORK/bind:/data"
url="$(wait_ready "$NAME-bind")"
[[ "$(curl -sf "$url/readyz")" == *'"documents":5'* ]] || { log "empty bind mount not seeded"; exit 1; }
logs="$(docker logs "$NAME-bind" 2>&1)"
[[ "$logs" == *"seeded /data from the index baked"* ]] \
    || { log "the bind mount was not seeded from the baked index"; exit 1; }

read -r -a PG <<<"$(cd "$ROOT" && .venv/bin/python -m tests.postgres start)"
replicas=()
for n in 1 2; do
    port="$("$SMOKE_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    CONTAINERS+=("$NAME-pg$n")
    docker run -d --name "$NAME-pg$n" --network host -e SEMSEARCH_HOST=127.0.0.1 \
        -e SEMSEARCH_PORT="$port" -e SEMSEARCH_DATABASE_URL="${PG[0]}" "$IMAGE" >/dev/null
    replicas+=("http://127.0.0.1:$port")
done
for n in 0 1; do
    for _ in $(seq 900); do curl -sf "${replicas[$n]}/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -sf "${replicas[$n]}/readyz" >/dev/null || { docker logs "$NAME-pg$((n + 1))" 2>&1 | tail -30 >&2; log "replica $((n + 1)) not ready"; exit 1; }
done
[[ "$(curl -sf "${replicas[1]}/v1/stats")" == *'"backend":"postgresql"'* ]] || { log "replica 2 is not on PostgreSQL"; exit 1; }
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "${replicas[0]}" fresh  # seeded once: 5 documents
"$SMOKE_PYTHON" "$ROOT/scripts/docker_smoke.py" "${replicas[1]}" restarted  # the other's write
log "two replicas on PostgreSQL: seeded once, a write on one found on the other"

log "OK: image $size bytes, built in ${build_seconds} s, ready ${ready_seconds} s after docker run"
