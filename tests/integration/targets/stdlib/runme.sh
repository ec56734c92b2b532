#!/usr/bin/env bash
# Polytope's standard library end to end (see e2e.py).
set -euo pipefail
cd "$(dirname "$0")"
# ansible-test copies this target elsewhere, so the collection is found through the environment it
# sets: the entry of ANSIBLE_COLLECTIONS_PATH holding ansible_collections/polytope/core. Outside
# ansible-test, the checkout's build/ (make setup links the working tree there).
root=""
IFS=: read -r -a paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
for p in "${paths[@]}"; do
    if [ -n "$p" ] && [ -d "$p/ansible_collections/polytope/core" ]; then root="$p"; break; fi
done
if [ -z "$root" ]; then
    top="$(git rev-parse --show-toplevel 2>/dev/null || true)"
    if [ -n "$top" ] && [ -d "$top/build/ansible_collections/polytope/core" ]; then root="$top/build"; fi
fi
if [ -z "$root" ]; then
    echo "runme.sh: no ansible_collections/polytope/core in ANSIBLE_COLLECTIONS_PATH (${ANSIBLE_COLLECTIONS_PATH:-unset})" >&2
    exit 1
fi
echo "runme.sh: the collection is in $root" >&2
# e2e.py imports the collection's expander; the playbooks it runs find the collection by this path
export PYTHONPATH="${root}${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_COLLECTIONS_PATH="${root}${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
exec python e2e.py "$@"
