#!/usr/bin/env bash
# Engines for the multi-host test: each in its own network namespace (a "host"), reachable from
# this machine over a test bridge at 10.98.0.1N (TCP 2375, test-only, no TLS) and through a unix
# socket, each with its own copy of the test image.  See offline-rig.md for why nsenter, not
# `ip netns exec`, starts dockerd.
#
#   engines.sh up N     start N engines (idempotent)
#   engines.sh down N   stop them and remove their namespaces and data
set -euo pipefail

action=${1:?up or down}
count=${2:-2}
bridge=br-pttpl
image=${POLYTOPE_TEST_IMAGE:-polytope-test/busybox:latest}

up() {
    ip link show "$bridge" >/dev/null 2>&1 || {
        ip link add "$bridge" type bridge
        ip addr add 10.98.0.1/24 dev "$bridge"
    }
    ip link set "$bridge" up
    for i in $(seq 1 "$count"); do
        ns=pttpl$i
        sock=/run/docker-$ns.sock
        if ! ip netns list | grep -qw "$ns"; then
            ip netns add "$ns"
            ip link add "v$ns" type veth peer name eth0 netns "$ns"
            ip link set "v$ns" master "$bridge" up
            ip netns exec "$ns" sh -c "ip addr add 10.98.0.1$i/24 dev eth0 && ip link set eth0 up && ip link set lo up && ip route add default via 10.98.0.1"
        fi
        if ! docker -H "unix://$sock" info >/dev/null 2>&1; then
            setsid nsenter --net="/var/run/netns/$ns" dockerd \
                --data-root "/var/lib/docker-$ns" --exec-root "/run/docker-$ns" --pidfile "/run/docker-$ns.pid" \
                -H "unix://$sock" -H "tcp://10.98.0.1$i:2375" --bip "172.3$i.0.1/16" --cgroup-parent "docker-$ns" \
                >"/var/log/dockerd-$ns.log" 2>&1 < /dev/null &
            for _ in $(seq 1 60); do
                docker -H "unix://$sock" info >/dev/null 2>&1 && break
                sleep 0.5
            done
            docker -H "unix://$sock" info >/dev/null
        fi
        docker -H "unix://$sock" image inspect "$image" >/dev/null 2>&1 || docker save "$image" | docker -H "unix://$sock" load -q
    done
}

down() {
    for i in $(seq 1 "$count"); do
        ns=pttpl$i
        if [ -f "/run/docker-$ns.pid" ]; then
            pid=$(cat "/run/docker-$ns.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
        ip netns list | grep -qw "$ns" && ip netns del "$ns"
        ip link show "v$ns" >/dev/null 2>&1 && ip link del "v$ns"
        rm -rf "/var/lib/docker-$ns" "/run/docker-$ns" "/run/docker-$ns.sock"
    done
    ip link show "$bridge" >/dev/null 2>&1 && ip link del "$bridge"
    return 0
}

"$action"
