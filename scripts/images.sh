#!/usr/bin/env bash
# Build, offline, the container images that tests and the demo use.
# Nothing is pulled: every image is made from Debian packages on this machine.
#
#   polytope-test/busybox:latest (also :v1)  busybox-static with all its applets
#   polytope-demo/httpd:latest               the same rootfs, runs busybox httpd on :80 serving /www
#   polytope-test/python:3                   Debian bookworm "essential" + python3 (mmdebstrap)
#   polytope-test/health:latest              busybox with a HEALTHCHECK (every second, 5 retries): healthy while
#                                            /tmp/healthy exists; its CMD makes that file at once
#
# An image that already exists is left alone; FORCE=1 rebuilds all of them.
# Needs: a running engine (scripts/engine.sh), busybox-static, mmdebstrap.
#
# Usage: scripts/images.sh [busybox|httpd|python ...]   (default: all)
set -euo pipefail

FORCE="${FORCE:-0}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"

BUSYBOX_IMAGE=polytope-test/busybox
HTTPD_IMAGE=polytope-demo/httpd
PYTHON_IMAGE=polytope-test/python:3
HEALTH_IMAGE=polytope-test/health:latest

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

timeout 20 docker info >/dev/null 2>&1 || die "no Docker engine answers; run 'make engine' (scripts/engine.sh) first"

have_image() { [ "$FORCE" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

workdir="$(mktemp -d /tmp/polytope-images.XXXXXX)"
trap 'rm -rf "$workdir"' EXIT

# A minimal rootfs: /bin/busybox, a symlink for every applet where busybox
# itself would install it, and the few files a container runtime expects.
make_busybox_rootfs() {
    local root="$1" bb=/bin/busybox
    [ -x "$bb" ] || die "$bb not found (apt-get install busybox-static)"
    # the dynamic Debian 'busybox' package also ships /bin/busybox: the image needs the static one
    if ldd "$bb" >/dev/null 2>&1; then
        die "$bb is dynamically linked; install busybox-static"
    fi
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var/tmp,var/run,www,proc,sys,dev}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 700 "$root/root"
    cp "$bb" "$root/bin/busybox"
    chmod 755 "$root/bin/busybox"
    local applet
    while read -r applet; do
        [ -n "$applet" ] || continue
        [ "$applet" = bin/busybox ] && continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -sf /bin/busybox "$root/$applet"
    done < <("$root/bin/busybox" --list-full)
    # make sure the usual names exist in /bin even if this busybox lists them elsewhere
    for applet in sh ash cat echo ls env id true false sleep mkdir rm cp mv tar wget nc httpd grep sed \
                  ps kill date hostname head tail touch chmod chown ln test printf seq wc sort uniq; do
        if "$root/bin/busybox" --list | grep -qx "$applet"; then
            [ -e "$root/bin/$applet" ] || [ -e "$root/usr/bin/$applet" ] || [ -e "$root/sbin/$applet" ] \
                || [ -e "$root/usr/sbin/$applet" ] || ln -s /bin/busybox "$root/bin/$applet"
        fi
    done
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
EOF
    printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

import_rootfs() {   # ROOT IMAGE CHANGE...
    local root="$1" image="$2"
    shift 2
    local args=()
    local c
    for c in "$@"; do args+=(-c "$c"); done
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
        | docker import "${args[@]}" -m "polytope.core test image, built offline by scripts/images.sh" - "$image" >/dev/null
}

build_busybox() {
    if have_image "$BUSYBOX_IMAGE:latest"; then
        log "$BUSYBOX_IMAGE:latest present"
    else
        log "building $BUSYBOX_IMAGE:latest from busybox-static"
        local root="$workdir/busybox"
        make_busybox_rootfs "$root"
        import_rootfs "$root" "$BUSYBOX_IMAGE:latest" \
            'CMD ["/bin/sh"]' 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
            'LABEL org.opencontainers.image.title=polytope-test-busybox'
        docker tag "$BUSYBOX_IMAGE:latest" "$BUSYBOX_IMAGE:v1"
    fi
    # :v1 follows :latest of the first build; do not move an existing v1 tag
    if ! docker image inspect "$BUSYBOX_IMAGE:v1" >/dev/null 2>&1; then
        docker tag "$BUSYBOX_IMAGE:latest" "$BUSYBOX_IMAGE:v1"
    fi
    docker run --rm "$BUSYBOX_IMAGE:latest" sh -c 'httpd --help >/dev/null 2>&1; nc --help >/dev/null 2>&1; wget --help >/dev/null 2>&1; command -v sleep >/dev/null' \
        || die "$BUSYBOX_IMAGE:latest does not run a shell with the expected applets"
}

build_httpd() {
    if have_image "$HTTPD_IMAGE:latest"; then
        log "$HTTPD_IMAGE:latest present"
        return
    fi
    log "building $HTTPD_IMAGE:latest (busybox httpd serving /www on port 80)"
    local root="$workdir/httpd"
    make_busybox_rootfs "$root"
    cat >"$root/www/index.html" <<'EOF'
<!doctype html>
<html><head><title>polytope-demo/httpd</title></head>
<body><h1>polytope-demo/httpd</h1><p>Mount your own content on /www.</p></body></html>
EOF
    # busybox httpd as PID 1 ignores SIGTERM (no handler, and PID 1 gets no default
    # action), so a shell that traps TERM keeps `docker stop` fast.
    import_rootfs "$root" "$HTTPD_IMAGE:latest" \
        'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        'EXPOSE 80/tcp' \
        'WORKDIR /www' \
        'CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; httpd -f -p 80 -h /www & wait"]' \
        'LABEL org.opencontainers.image.title=polytope-demo-httpd'
}

build_python() {
    if have_image "$PYTHON_IMAGE"; then
        log "$PYTHON_IMAGE present"
        return
    fi
    command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
    log "building $PYTHON_IMAGE with mmdebstrap ($DEBIAN_SUITE, $DEBIAN_MIRROR)"
    local tarball="$workdir/python.tar"
    mmdebstrap --quiet --variant=essential --include=python3 \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        "$DEBIAN_SUITE" "$tarball" "$DEBIAN_MIRROR" \
        || die "mmdebstrap failed (is $DEBIAN_MIRROR reachable?)"
    docker import -c 'CMD ["python3"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -m "polytope.core test image, built offline by scripts/images.sh" "$tarball" "$PYTHON_IMAGE" >/dev/null
    docker run --rm "$PYTHON_IMAGE" python3 -c 'import json, sys; print(sys.version.split()[0])' >/dev/null \
        || die "$PYTHON_IMAGE does not run python3"
}

build_health() {
    if have_image "$HEALTH_IMAGE"; then
        log "$HEALTH_IMAGE present"
        return
    fi
    build_busybox
    log "building $HEALTH_IMAGE (a HEALTHCHECK on /tmp/healthy, from $BUSYBOX_IMAGE:latest)"
    # The classic builder needs nothing but the local base image: no pull, no network.
    DOCKER_BUILDKIT=0 docker build --quiet --tag "$HEALTH_IMAGE" - >/dev/null <<EOF
FROM $BUSYBOX_IMAGE:latest
HEALTHCHECK --interval=1s --timeout=1s --retries=5 CMD test -f /tmp/healthy
CMD ["/bin/sh", "-c", "touch /tmp/healthy; trap 'exit 0' TERM; while :; do sleep 1 & wait \$!; done"]
LABEL org.opencontainers.image.title=polytope-test-health
EOF
}

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(busybox httpd python health)
for t in "${targets[@]}"; do
    case "$t" in
        busybox) build_busybox ;;
        httpd) build_httpd ;;
        python) build_python ;;
        health) build_health ;;
        *) die "unknown image '$t' (busybox, httpd, python, health)" ;;
    esac
done
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' | grep -E '^polytope-(test|demo)/' >&2 || true
