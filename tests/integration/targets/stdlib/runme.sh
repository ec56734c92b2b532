#!/usr/bin/env bash
# Polytope's standard library end to end (see e2e.py).
set -euo pipefail
cd "$(dirname "$0")"
# the collection is <root>/ansible_collections/polytope/core: make it importable for e2e.py
root="$(cd ../../../../../../.. && pwd)"
export PYTHONPATH="${root}${PYTHONPATH:+:$PYTHONPATH}"
exec python e2e.py "$@"
