#!/usr/bin/env bash
# Build the collection tarball the way a release does: `ansible-galaxy collection build` (galaxy.yml's
# build_ignore applies), on a copy of the files git shows (tracked, and untracked but not ignored, as they are
# in the working tree) with the docs site's guide pages (docs/docsite/rst/, generated from README.md, docs/*.md
# and the playbooks by docs/site/pages.py) written into it. Used by `make galaxy-check` and `make ee-check`.
#
#   scripts/galaxy-build.sh       prints the tarball's path (build/galaxy/polytope-core-VERSION.tar.gz)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"
log() { printf '[galaxy-build] %s\n' "$*" >&2; }

scripts/docs-venv.sh
bin="$repo/.venv-docs/bin"
out="$repo/build/galaxy"
copy="$out/src/ansible_collections/polytope/core"
rm -rf "$out"
mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
      done \
    | tar --null --no-recursion -T - -cf - | tar -C "$copy" -xf -
"$bin/python" docs/site/pages.py "$copy" >&2
"$bin/ansible-galaxy" collection build --output-path "$out" "$copy" >&2
tarball="$(ls "$out"/polytope-core-*.tar.gz)"
log "$(basename "$tarball"): $(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | grep -vc '/$') files"
echo "$tarball"
