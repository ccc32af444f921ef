# shellcheck shell=bash
# Shared by scripts/docker-test.sh and scripts/compose-test.sh (sourced, not run): a Docker
# engine to work in, and base images made with debootstrap from Debian's packages where no
# registry serves them.
#
# The sourcing script sets ROOT (the checkout), WORK (a private temp dir, removed by its own
# cleanup) and LOG_NAME (the prefix of its messages), and calls stop_engine from its EXIT trap.
# Environment: DEBIAN_MIRROR, and BASE_IMAGE for the semsearch image (scripts/docker-build.sh).

CACHE="$ROOT/.docker"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LOCAL_BASE="semsearch-base:bookworm"
BASE_IMAGE="${BASE_IMAGE:-$LOCAL_BASE}"
DOCKERD_PID=""

log() { echo "$LOG_NAME: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

install_if_missing() {  # command, Debian package
    command -v "$1" >/dev/null && return
    if [[ $(id -u) -ne 0 ]]; then log "$1 is missing: install Debian's $2 (or run as root)"; exit 1; fi
    log "installing $2"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# The engine `docker info` reaches, else a private dockerd (as root) with its data and exec
# roots in $WORK; DOCKER_HOST points at it. Debian's docker.io is installed if missing.
ensure_engine() {
    if docker info >/dev/null 2>&1; then log "using the running engine"; return; fi
    install_if_missing dockerd docker.io
    log "starting a private dockerd in $WORK"
    dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
        --host "unix://$WORK/docker.sock" >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    export DOCKER_HOST="unix://$WORK/docker.sock"
    for _ in $(seq 120); do docker info >/dev/null 2>&1 && return; sleep 0.5; done
    tail -20 "$WORK/dockerd.log" >&2
    log "dockerd did not start"
    exit 1
}

# Stops the private dockerd, if ensure_engine started one, with everything it ran.
stop_engine() {
    [[ -n "$DOCKERD_PID" ]] || return 0
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$DOCKERD_PID" 2>/dev/null
    # containerd-shims and overlay mounts of the private engine die with its root
    pkill -f "$WORK/exec" 2>/dev/null
    grep -o "${WORK}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    DOCKERD_PID=""
}

# Imports TAG from TARBALL, a root filesystem made first (then kept for reuse) by debootstrap
# --variant=minbase of SUITE with the INCLUDE packages (comma-separated, may be empty), then
# SETUP ROOTFS if given (a function of the caller: packages installed in a chroot, users).
debootstrap_image() {  # tag, tarball, suite, include, [setup]
    local tag="$1" tarball="$2" suite="$3" include="$4" setup="${5:-}"
    if [[ ! -f "$tarball" ]]; then
        install_if_missing debootstrap debootstrap
        log "making $tag with debootstrap ($suite) from $DEBIAN_MIRROR"
        local rootfs="$WORK/rootfs-$suite"
        debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$rootfs" \
            "$DEBIAN_MIRROR" >"$WORK/debootstrap-$suite.log" 2>&1 \
            || { tail -20 "$WORK/debootstrap-$suite.log" >&2; exit 1; }
        [[ -z "$setup" ]] || "$setup" "$rootfs"
        rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
            "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
        mkdir -p "$(dirname "$tarball")"
        tar -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
        rm -rf "$rootfs"
    fi
    log "importing $tag from $tarball"
    docker import "$tarball" "$tag" >/dev/null
}

# The semsearch image's base: BASE_IMAGE if the engine has it or can pull it, else
# semsearch-base:bookworm (python3, python3-venv), cached as .docker/base-bookworm.tar.
ensure_base() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then log "reusing $BASE_IMAGE"; return; fi
    if [[ "$BASE_IMAGE" != "$LOCAL_BASE" ]]; then docker pull "$BASE_IMAGE"; return; fi
    debootstrap_image "$LOCAL_BASE" "$CACHE/base-bookworm.tar" bookworm python3,python3-venv
}
