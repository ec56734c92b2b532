#!/usr/bin/env bash
# A local, unauthenticated image registry on 127.0.0.1:5000 (Debian's
# docker-registry 2.8), for pull and update_image tests, with
# polytope-test/busybox:latest pushed as 127.0.0.1:5000/polytope-test/busybox:latest.
#
# The engine treats registries on 127.0.0.0/8 as insecure-allowed, so no daemon
# setting is needed. Idempotent: a registry that answers is reused.
#
# Environment: REGISTRY_ADDR (default 127.0.0.1:5000),
#              REGISTRY_DIR (default /var/lib/polytope-registry),
#              REGISTRY_LOG (default /var/log/polytope-registry.log)
set -euo pipefail

REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
REGISTRY_DIR="${REGISTRY_DIR:-/var/lib/polytope-registry}"
REGISTRY_LOG="${REGISTRY_LOG:-/var/log/polytope-registry.log}"
REGISTRY_WAIT="${REGISTRY_WAIT:-30}"
PUSH_IMAGES="${PUSH_IMAGES:-polytope-test/busybox:latest}"

log() { printf '[registry] %s\n' "$*" >&2; }
die() { printf '[registry] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker-registry >/dev/null || die "docker-registry not found; run 'make engine' (installs it)"
command -v curl >/dev/null || die "curl not found; run 'make engine' (installs it)"

answers() { curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY_ADDR/v2/"; }

if answers 2>/dev/null; then
    log "registry answers on http://$REGISTRY_ADDR/v2/"
else
    mkdir -p "$REGISTRY_DIR/data"
    chmod 700 "$REGISTRY_DIR"
    # no auth section: the packaged /etc/docker/registry/config.yml asks for htpasswd
    cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
  fields:
    service: polytope-registry
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
EOF
    log "starting docker-registry on $REGISTRY_ADDR (data: $REGISTRY_DIR/data, log: $REGISTRY_LOG)"
    printf '\n==== docker-registry started by %s at %s ====\n' "$0" "$(date -Is)" >>"$REGISTRY_LOG"
    setsid nohup docker-registry serve "$REGISTRY_DIR/config.yml" >>"$REGISTRY_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$REGISTRY_DIR/registry.pid"
    start=$(date +%s)
    until answers 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$REGISTRY_LOG" >&2 || true
            die "docker-registry exited (is $REGISTRY_ADDR taken?); see $REGISTRY_LOG"
        fi
        if [ $(( $(date +%s) - start )) -ge "$REGISTRY_WAIT" ]; then
            tail -n 20 "$REGISTRY_LOG" >&2 || true
            die "registry did not answer on http://$REGISTRY_ADDR/v2/ within ${REGISTRY_WAIT}s"
        fi
        sleep 0.5
    done
    log "registry answers (pid $pid)"
fi

timeout 20 docker info >/dev/null 2>&1 || die "no Docker engine answers; run 'make engine' first"
for image in $PUSH_IMAGES; do
    docker image inspect "$image" >/dev/null 2>&1 || die "$image missing; run 'make images' first"
    remote="$REGISTRY_ADDR/$image"
    docker tag "$image" "$remote"
    # a push of unchanged content only re-sends the manifest
    docker push "$remote" >/dev/null || die "docker push $remote failed"
    log "pushed $remote"
done
