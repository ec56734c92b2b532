#!/usr/bin/env bash
# A real 3-node Docker Swarm for the tests, every node an engine in a network namespace of its own:
# pt-swarm-1 (manager), pt-swarm-2 and pt-swarm-3 (workers) on the bridge br-pt-swarm (10.95.0.1/24,
# node N at 10.95.0.1N). The main engine stays a plain engine: it is never a swarm member.
#
#   scripts/swarm.sh up       start the swarm (idempotent: what is up already is left as it is)
#   scripts/swarm.sh down     stop the engines, remove the namespaces, data, bridge and firewall rule
#   scripts/swarm.sh status   exit 0 when the swarm is up with every node ready
#
# Each node answers on unix:///run/docker-pt-swarm-N.sock and on tcp://10.95.0.1N:2375 (test only, no TLS;
# --tls=false saves dockerd's 15 s pause at start). Node labels polytope.instance-type:
#   pt-swarm-1 cpu-small, pt-swarm-2 cpu-small, pt-swarm-3 gpu-large
# A registry for the nodes listens on the bridge, http://10.95.0.1:5001 (docker-registry, as for
# scripts/registry.sh; every node's engine trusts it without TLS), for the update_image tests: the nodes reach
# no other registry.
# The test images (scripts/images.sh) are copied from the main engine to every node, and each node also
# gets polytope-test/httpd:exits, the httpd image whose containers exit at once (rollback tests).
# See offline-rig.md for why nsenter starts dockerd (`ip netns exec` remounts /sys) and why the FORWARD rule.
set -euo pipefail

NODES=3
PREFIX=pt-swarm-
BRIDGE=br-pt-swarm
SUBNET=10.95.0
TCP_PORT=2375
read -r -a IMAGES <<< "${SWARM_IMAGES:-polytope-test/busybox:latest polytope-test/busybox:v1 polytope-demo/httpd:latest}"
LABELS=(cpu-small cpu-small gpu-large)
FORWARD_RULE=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT)
REGISTRY="$SUBNET.1:5001"
REGISTRY_DIR=/var/lib/polytope-registry-swarm

log() { printf '[swarm] %s\n' "$*" >&2; }
die() { printf '[swarm] ERROR: %s\n' "$*" >&2; exit 1; }

ns_name() { echo "$PREFIX$1"; }
sock() { echo "unix:///run/docker-$PREFIX$1.sock"; }
node() { local i=$1; shift; docker -H "$(sock "$i")" "$@"; }

network_up() {
    ip link show "$BRIDGE" >/dev/null 2>&1 || {
        ip link add "$BRIDGE" type bridge
        ip addr add "$SUBNET.1/24" dev "$BRIDGE"
    }
    ip link set "$BRIDGE" up
    iptables -C "${FORWARD_RULE[@]}" 2>/dev/null || iptables -I "${FORWARD_RULE[@]}"
    local i ns proto
    for i in $(seq 1 $NODES); do
        ns=$(ns_name "$i")
        ip netns list | grep -qw "$ns" && continue
        ip netns add "$ns"
        ip link add "v$ns" type veth peer name eth0 netns "$ns"
        ip link set "v$ns" master "$BRIDGE" up
        ip netns exec "$ns" sh -c "ip addr add $SUBNET.1$i/24 dev eth0 && ip link set eth0 up && ip link set lo up && ip route add default via $SUBNET.1"
    done
    # No name server is reachable from the namespaces: without an answer at once, every digest lookup and
    # every task's pull attempt waits for the resolver's timeouts (20-30 s) before the local image is used.
    for i in $(seq 1 $NODES); do
        for proto in udp tcp; do
            nsenter --net="/var/run/netns/$(ns_name "$i")" sh -c \
                "iptables -C OUTPUT -p $proto --dport 53 -j REJECT 2>/dev/null || iptables -I OUTPUT -p $proto --dport 53 -j REJECT"
        done
    done
}

engine_up() {
    local i=$1 ns
    ns=$(ns_name "$i")
    node "$i" info >/dev/null 2>&1 && return 0
    mkdir -p /var/log
    setsid nsenter --net="/var/run/netns/$ns" dockerd \
        --data-root "/var/lib/docker-$ns" --exec-root "/run/docker-$ns" --pidfile "/run/docker-$ns.pid" \
        -H "$(sock "$i")" -H "tcp://$SUBNET.1$i:$TCP_PORT" --tls=false --insecure-registry "$REGISTRY" \
        --bip "172.2$((3 + i)).0.1/16" --cgroup-parent "docker-$ns" \
        >"/var/log/dockerd-$ns.log" 2>&1 </dev/null &
    local _
    for _ in $(seq 1 120); do
        node "$i" info >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    die "the engine in $ns does not answer; see /var/log/dockerd-$ns.log"
}

images_up() {
    local i=$1 missing=() image
    for image in "${IMAGES[@]}"; do
        node "$i" image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        docker save "${missing[@]}" | node "$i" load -q >/dev/null
    fi
    if ! node "$i" image inspect polytope-test/httpd:exits >/dev/null 2>&1; then
        printf 'FROM polytope-demo/httpd:latest\nCMD ["/bin/false"]\n' \
            | DOCKER_BUILDKIT=0 node "$i" build -q -t polytope-test/httpd:exits - >/dev/null 2>&1
    fi
}

registry_up() {
    # Run here, not by scripts/registry.sh: docker-registry reads REGISTRY_* variables from its environment as
    # settings, so that script's own variables cannot be passed to it. Nothing is pushed from the main engine,
    # which does not trust this registry; the tests push from a node.
    curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null && return 0
    command -v docker-registry >/dev/null || die "docker-registry not found; run 'make engine' (installs it)"
    mkdir -p "$REGISTRY_DIR/data"
    printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n' \
        "$REGISTRY_DIR/data" "$REGISTRY" >"$REGISTRY_DIR/config.yml"
    setsid docker-registry serve "$REGISTRY_DIR/config.yml" >/var/log/polytope-registry-swarm.log 2>&1 </dev/null &
    echo $! >"$REGISTRY_DIR/registry.pid"
    local _
    for _ in $(seq 1 40); do
        curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null && return 0
        sleep 0.25
    done
    die "the registry on $REGISTRY does not answer; see /var/log/polytope-registry-swarm.log"
}

swarm_state() { node "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo down; }

swarm_up() {
    if [ "$(swarm_state 1)" != active ]; then
        node 1 swarm init --advertise-addr "$SUBNET.11" --listen-addr "$SUBNET.11:2377" >/dev/null
    fi
    local token i id
    token=$(node 1 swarm join-token -q worker)
    for i in $(seq 2 $NODES); do
        if [ "$(swarm_state "$i")" != active ]; then
            node "$i" swarm join --token "$token" --advertise-addr "$SUBNET.1$i" --listen-addr "$SUBNET.1$i:2377" \
                "$SUBNET.11:2377" >/dev/null
        fi
    done
    for i in $(seq 1 $NODES); do
        id=$(node "$i" info --format '{{.Swarm.NodeID}}')
        node 1 node update --label-add "polytope.instance-type=${LABELS[$((i - 1))]}" "$id" >/dev/null
    done
}

status() {
    [ "$(swarm_state 1)" = active ] || return 1
    local ready
    ready=$(node 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$' || true)
    [ "$ready" -eq $NODES ]
}

wait_ready() {
    local _
    for _ in $(seq 1 120); do
        status && return 0
        sleep 0.25
    done
    die "not every node is ready: $(node 1 node ls 2>&1)"
}

up() {
    [ "$(id -u)" = 0 ] || die "needs root (namespaces, bridge, iptables)"
    timeout 20 docker info >/dev/null 2>&1 || die "the main engine does not answer; run 'make engine' first"
    local image
    for image in "${IMAGES[@]}"; do
        docker image inspect "$image" >/dev/null 2>&1 || die "$image is missing on the main engine; run 'make images'"
    done
    network_up
    registry_up
    local i pids=()
    for i in $(seq 1 $NODES); do engine_up "$i" & pids+=($!); done
    for i in "${pids[@]}"; do wait "$i"; done
    pids=()
    for i in $(seq 1 $NODES); do images_up "$i" & pids+=($!); done
    for i in "${pids[@]}"; do wait "$i"; done
    swarm_up
    wait_ready
    log "up: manager $(sock 1), workers $(sock 2) $(sock 3), registry $REGISTRY"
}

down() {
    local i ns pid _
    for i in $(seq 1 $NODES); do
        ns=$(ns_name "$i")
        if [ -s "/run/docker-$ns.pid" ]; then
            pid=$(cat "/run/docker-$ns.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    for i in $(seq 1 $NODES); do
        ns=$(ns_name "$i")
        # what the engine leaves mounted under its data root (netns files, overlays) goes before the files
        { grep -o " /var/lib/docker-${ns}[^ ]*\| /run/docker-${ns}[^ ]*" /proc/mounts || true; } | sort -r \
            | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
        if ip netns list | grep -qw "$ns"; then ip netns del "$ns"; fi
        if ip link show "v$ns" >/dev/null 2>&1; then ip link del "v$ns"; fi
        rm -rf "/var/lib/docker-$ns" "/run/docker-$ns" "/run/docker-$ns.sock" "/run/docker-$ns.pid"
    done
    if [ -s "$REGISTRY_DIR/registry.pid" ]; then
        kill "$(cat "$REGISTRY_DIR/registry.pid")" 2>/dev/null || true
    fi
    rm -rf "$REGISTRY_DIR"
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
    while iptables -C "${FORWARD_RULE[@]}" 2>/dev/null; do iptables -D "${FORWARD_RULE[@]}"; done
    log "down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) die "usage: $0 up|down|status" ;;
esac
