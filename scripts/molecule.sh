#!/usr/bin/env bash
# `make molecule`: run `molecule test` for every scenario of the collection, offline.
# Scenarios live in molecule/<name>/molecule.yml (or extensions/molecule/<name>/).
# Skips with a message when there is none yet.
#
#   scripts/molecule.sh [extra molecule test args]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"
venv="$repo/.venv"
[ -x "$venv/bin/molecule" ] || { echo "molecule: $venv/bin/molecule missing; run 'make setup'" >&2; exit 1; }

scenarios=()
for base in molecule extensions/molecule; do
    for f in "$base"/*/molecule.yml; do
        [ -f "$f" ] && scenarios+=("$(basename "$(dirname "$f")")")
    done
done
if [ "${#scenarios[@]}" = 0 ]; then
    echo "molecule: no scenario yet (molecule/<name>/molecule.yml), skipped"
    exit 0
fi

# molecule calls ansible-config, ansible-playbook, ... from PATH; no pyenv shims
export PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
unset PYENV_VERSION
# this checkout comes first (ansible.cfg: ./build); no Galaxy here
export ANSIBLE_COLLECTIONS_PATH="$repo/build"
export MOLECULE_NO_LOG="${MOLECULE_NO_LOG:-false}"

# molecule's prerun may install a copy of the collection into ~/.ansible/collections,
# which would later shadow the working tree: remove a copy that this run made
shadow="$HOME/.ansible/collections/ansible_collections/polytope/core"
had_shadow=0
[ -e "$shadow" ] && had_shadow=1

rc=0
for s in "${scenarios[@]}"; do
    echo "molecule: scenario $s"
    molecule test -s "$s" "$@" || rc=$?
    [ "$rc" = 0 ] || break
done
if [ "$had_shadow" = 0 ] && [ -d "$shadow" ] && [ ! -L "$shadow" ]; then
    rm -rf "$shadow"
fi
exit "$rc"
