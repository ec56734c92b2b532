#!/usr/bin/env bash
# The collection's HTML docs site (`make docs`), built and checked:
#
#   1. the guide pages docs/docsite/rst/*.rst from README.md, docs/*.md and the playbooks (docs/site/pages.py)
#   2. antsibull-docs lint-collection-docs --plugin-docs on the checkout
#   3. antsibull-docs collection: the rst of every module, lookup, filter and role, and the guide pages
#   4. sphinx-build -W (a warning fails the build) into build/docs/html
#   5. every internal link and #anchor of every page resolves (docs/site/check.py links)
#   6. headless Chromium (Debian's package, installed when missing) loads the index and the container
#      module's page: their DOM holds the expected text, and screenshots land in build/docs/screenshots/
#
# Tools come from .venv-docs (scripts/docs-venv.sh); the collection is found through build/ansible_collections
# (`make setup`). Open build/docs/html/index.html to read the site.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"
log() { printf '[docs] %s\n' "$*" >&2; }
die() { printf '[docs] ERROR: %s\n' "$*" >&2; exit 1; }

start=$(date +%s)
scripts/docs-venv.sh
bin="$repo/.venv-docs/bin"
export PATH="$bin:$PATH"
[ -f build/ansible_collections/polytope/core/galaxy.yml ] || die "no build/ansible_collections/polytope/core; run 'make setup'"
# this collection and the ones its docs refer to (community.docker, linked by `make setup`)
export ANSIBLE_COLLECTIONS_PATH="$repo/build"
# the docs of the working tree, not a copy installed elsewhere
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

out=build/docs
rm -rf "$out/rst" "$out/html" "$out/screenshots"
mkdir -p "$out/rst" "$out/screenshots"

"$bin/python" docs/site/pages.py "$repo"

log "antsibull-docs lint-collection-docs --plugin-docs"
antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all --disallow-unknown-collection-refs . \
    || die "lint-collection-docs found problems (above)"

# antsibull-docs wants its output directory writable by itself only
chmod og-w "$out/rst"
log "antsibull-docs collection"
antsibull-docs --config-file docs/site/antsibull-docs.cfg collection --use-current --squash-hierarchy \
    --fail-on-error --cleanup everything --dest-dir "$out/rst" polytope.core >"$out/antsibull-docs.log" 2>&1 \
    || { cat "$out/antsibull-docs.log" >&2; die "antsibull-docs collection failed"; }

log "sphinx-build -W"
sphinx-build -b html -c docs/site -W --keep-going -q "$out/rst" "$out/html" 2>&1 | tee "$out/sphinx.log" \
    || die "sphinx-build failed or warned (above, and in $out/sphinx.log)"
warnings=$(grep -c "WARNING" "$out/sphinx.log" || true)
[ "$warnings" = 0 ] || die "sphinx-build printed $warnings warnings"

"$bin/python" docs/site/check.py links "$out/html"

# ------------------------------------------------------------------ browser --
if ! command -v chromium >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "chromium is not installed (apt-get install chromium, as root)"
    log "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
width=1280 height=1400
# browse PAGE NAME TEXT...: load the page, check its DOM, take a screenshot
browse() {
    local page="$1" name="$2" flags
    shift 2
    # no sandbox: CI runs as root; a throwaway profile, so runs never share state
    flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$out/chromium-profile")
    timeout 60 chromium "${flags[@]}" --dump-dom "file://$repo/$out/html/$page" >"$out/screenshots/$name.dom.html" 2>"$out/chromium.log" \
        || { cat "$out/chromium.log" >&2; die "chromium could not load $page"; }
    "$bin/python" docs/site/check.py dom "$out/screenshots/$name.dom.html" "$@" || die "$page: unexpected content"
    timeout 60 chromium "${flags[@]}" --window-size="$width,$height" --screenshot="$repo/$out/screenshots/$name.png" \
        "file://$repo/$out/html/$page" >>"$out/chromium.log" 2>&1 \
        || { cat "$out/chromium.log" >&2; die "chromium could not take a screenshot of $page"; }
    "$bin/python" docs/site/check.py png "$out/screenshots/$name.png" "$width" "$height"
}
browse index.html index "Polytope.Core" "container_module.html" "docsite/guide.html" "template_role.html"
browse container_module.html container "polytope.core.container module" "Parameters" "Return Values" "Examples"
rm -rf "$out/chromium-profile"

pages=$(find "$out/html" -name '*.html' | wc -l)
log "built $pages pages, 0 warnings, in $(( $(date +%s) - start ))s: $out/html/index.html ($(chromium --version 2>/dev/null))"
