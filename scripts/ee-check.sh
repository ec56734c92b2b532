#!/usr/bin/env bash
# The collection's execution-environment metadata, as ansible-builder reads it (`make ee-check`); no image is
# built here (that needs a base image from a registry).
#
#   1. the tarball (scripts/galaxy-build.sh) installed into build/ee/collections, as an EE build installs it
#   2. `ansible-builder introspect` on it: meta/execution-environment.yml's python and system files are found
#      (paths relative to the collection root) and list the Docker SDK, paramiko and the JavaScript engine
#      (mini-racer) for Python, python3 for the system
#   3. `ansible-builder create` on an execution environment definition that installs this tarball: the
#      definition validates and the build context (Containerfile, _build/) is written to build/ee/context
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"
log() { printf '[ee-check] %s\n' "$*" >&2; }
die() { printf '[ee-check] ERROR: %s\n' "$*" >&2; exit 1; }

tarball="$(scripts/galaxy-build.sh)"
bin="$repo/.venv-docs/bin"
out="$repo/build/ee"
rm -rf "$out"
mkdir -p "$out/definition"
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
# outside the checkout: its ansible.cfg finds the working tree as polytope.core, "already installed"
cd "$out"

"$bin/ansible-galaxy" collection install --offline --no-deps --force -p "$out/collections" "$tarball" >/dev/null 2>"$out/install.txt" \
    || { cat "$out/install.txt" >&2; die "ansible-galaxy collection install failed"; }
[ -f "$out/collections/ansible_collections/polytope/core/meta/execution-environment.yml" ] \
    || die "the tarball has no meta/execution-environment.yml"

log "ansible-builder introspect"
"$bin/ansible-builder" introspect --sanitize "$out/collections" \
    --write-pip "$out/requirements.txt" --write-bindep "$out/bindep.txt" >"$out/introspect.txt" 2>&1 \
    || { cat "$out/introspect.txt" >&2; die "ansible-builder introspect failed"; }
cat "$out/introspect.txt"
grep -q "Expected requirements file not present" "$out/introspect.txt" && die "a file meta/execution-environment.yml names is missing"
# each requirement as the EE build will install it, attributed to this collection
for want in 'mini-racer' 'docker' 'paramiko'; do
    grep -Eq "^${want}([<>=!~ ;]|\$).*# from collection polytope\.core" "$out/requirements.txt" \
        || die "introspection lists no Python requirement $want from polytope.core ($out/requirements.txt)"
done
grep -Eq "^python3 .*# from collection polytope\.core" "$out/bindep.txt" \
    || die "introspection lists no system requirement python3 from polytope.core ($out/bindep.txt)"

cp "$tarball" "$out/definition/"
name="$(basename "$tarball")"
cat >"$out/definition/execution-environment.yml" <<EOF
---
# an execution environment with polytope.core, as a user would define one; ansible-builder adds the
# collection's own requirements (meta/execution-environment.yml) when it builds
version: 3
images:
  base_image:
    # never pulled here: \`ansible-builder create\` writes the build context only
    name: quay.io/fedora/fedora:41
dependencies:
  python_interpreter:
    package_system: python3
    python_path: /usr/bin/python3
  ansible_core:
    package_pip: ansible-core>=2.19
  ansible_runner:
    package_pip: ansible-runner
  galaxy:
    collections:
      - name: collections/$name
        type: file
# in the context's _build/collections/, which the galaxy stage has as /build/collections (its working directory)
additional_build_files:
  - src: $name
    dest: collections
EOF
log "ansible-builder create"
"$bin/ansible-builder" create -f "$out/definition/execution-environment.yml" --context "$out/context" \
    --output-filename Containerfile -v 2 \
    >"$out/create.txt" 2>&1 || { cat "$out/create.txt" >&2; die "ansible-builder create failed"; }
cat "$out/create.txt"
containerfile="$out/context/Containerfile"
[ -f "$containerfile" ] || die "no $containerfile"
[ -f "$out/context/_build/collections/$name" ] || die "the build context lacks the tarball"
grep -q "introspect" "$containerfile" || die "$containerfile runs no introspection of the collections"
log "passed: $(grep -c 'polytope\.core' "$out/requirements.txt") Python and $(grep -c 'polytope\.core' "$out/bindep.txt") system requirements from polytope.core, including $(grep '^mini-racer' "$out/requirements.txt" | cut -d' ' -f1); build context in ${out#"$repo"/}/context"
