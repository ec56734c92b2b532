#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine (Debian 12, run as root).
#
# - installs the Debian packages the tests need when one is missing
#   (docker.io, socat, busybox-static, docker-registry, mmdebstrap, curl, shellcheck
#   for the sanity tests, openssh-server, sudo and openssl for the SSH-host and TLS-engine
#   integration targets, ...)
# - starts dockerd in its own session (it outlives `make`) when `docker info`
#   does not answer, logging to /var/log/dockerd.log
# - waits until `docker info` answers
#
# Idempotent: with everything installed and an engine answering it does nothing.
#
# Environment:
#   ENGINE_WAIT     seconds to wait for the engine (default 90)
#   DOCKERD_LOG     dockerd log file (default /var/log/dockerd.log)
#   APT_PACKAGES    override the package list
set -euo pipefail

ENGINE_WAIT="${ENGINE_WAIT:-90}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
APT_PACKAGES="${APT_PACKAGES:-docker.io socat busybox-static docker-registry mmdebstrap curl iproute2 rsync ca-certificates git make shellcheck openssh-server openssh-client sudo openssl}"

log() { printf '[engine] %s\n' "$*" >&2; }
die() { printf '[engine] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages and starts dockerd)"

# ---------------------------------------------------------------- packages --
missing=()
for pkg in $APT_PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found; install by hand: ${missing[*]}"
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 NEEDRESTART_MODE=l
    # The packages' maintainer scripts try to start services; on a machine without
    # systemd that fails harmlessly, so a policy-rc.d keeps them quiet when possible.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    rc=0
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } || rc=$?
    [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install failed (exit $rc) for: ${missing[*]}"
else
    log "Debian packages present"
fi

command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
command -v docker >/dev/null || die "docker client not found after installing docker.io"

# ------------------------------------------------------------------ engine --
engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

if engine_answers; then
    log "engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo '?')"
    exit 0
fi

# The engine may be a different one than the default socket (DOCKER_HOST set):
# then we cannot start it, only say so.
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ] \
        && [ "${DOCKER_HOST}" != "unix:///run/docker.sock" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer and is not a local engine this script can start"
fi

is_dockerd() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = dockerd ]; }

dockerd_pid=""
if [ -s /var/run/docker.pid ]; then
    dockerd_pid="$(cat /var/run/docker.pid)"
    # a killed engine leaves its pid file; the number may belong to another process by now
    if ! is_dockerd "$dockerd_pid"; then
        log "removing stale /var/run/docker.pid ($dockerd_pid)"
        rm -f /var/run/docker.pid
        dockerd_pid=""
    fi
fi

if [ -z "$dockerd_pid" ]; then
    # stale containerd pid/socket of a dead engine would block its managed containerd
    if [ -s /var/run/docker/containerd/containerd.pid ]; then
        cpid="$(cat /var/run/docker/containerd/containerd.pid)"
        kill -0 "$cpid" 2>/dev/null || rm -f /var/run/docker/containerd/containerd.pid
    fi
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    log "starting dockerd (log: $DOCKERD_LOG)"
    printf '\n==== dockerd started by %s at %s ====\n' "$0" "$(date -Is)" >>"$DOCKERD_LOG"
    # setsid + nohup: own session, survives the caller (make, CI step) exiting.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    dockerd_pid=$!
else
    log "dockerd already running (pid $dockerd_pid), waiting for it to answer"
fi

# $! is dockerd itself (setsid does not fork outside a process-group leader);
# fall back to the pid file / process table should that ever differ.
dockerd_alive() {
    # the process started here may still be setsid/nohup for a moment before it execs dockerd
    kill -0 "$dockerd_pid" 2>/dev/null && return 0
    [ -s /var/run/docker.pid ] && is_dockerd "$(cat /var/run/docker.pid)" && return 0
    return 1
}

start=$(date +%s)
while ! engine_answers; do
    now=$(date +%s)
    if [ $((now - start)) -ge "$ENGINE_WAIT" ]; then
        log "last lines of $DOCKERD_LOG:"
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        die "engine did not answer 'docker info' within ${ENGINE_WAIT}s"
    fi
    if ! dockerd_alive; then
        log "last lines of $DOCKERD_LOG:"
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        die "dockerd (pid $dockerd_pid) exited; see $DOCKERD_LOG"
    fi
    sleep 1
done
log "engine answers after $(( $(date +%s) - start ))s: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo '?')"
