#!/usr/bin/env bash
# The container module with orchestrator swarm, on the 3-node swarm of scripts/swarm.sh (engines in the
# namespaces pt-swarm-1..3); the swarm is started here when it is not up, and then removed at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# ansible-test copies this target elsewhere: the collection (and its scripts/) is the entry of
# ANSIBLE_COLLECTIONS_PATH that holds ansible_collections/polytope/core; outside ansible-test, the checkout.
root=""
IFS=: read -r -a paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
for p in "${paths[@]}"; do
    if [ -n "$p" ] && [ -f "$p/ansible_collections/polytope/core/scripts/swarm.sh" ]; then
        root="$p/ansible_collections/polytope/core"; break
    fi
done
[ -n "$root" ] || root="$(cd "$here/../../../.." && pwd)"
swarm="$root/scripts/swarm.sh"
[ -f "$swarm" ] || { echo "runme.sh: no scripts/swarm.sh under $root" >&2; exit 1; }
if ! bash "$swarm" status; then
    trap 'bash "$swarm" down' EXIT
    bash "$swarm" up
fi
python="$(python -c 'import docker, sys; print(sys.executable)')"
for playbook in test.yml module_defaults.yml dataset_mounts.yml update_image.yml; do
    ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$python" "$here/$playbook" "$@"
done
