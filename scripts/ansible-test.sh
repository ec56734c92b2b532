#!/usr/bin/env bash
# Run ansible-test for this collection from a given virtual environment.
#
#   scripts/ansible-test.sh VENV_DIR ansible-test-args...
#   e.g. scripts/ansible-test.sh .venv sanity --venv --python 3.11
#
# ansible-test wants the collection at <root>/ansible_collections/polytope/core and
# resolves the working directory, so a symlink to the checkout is not accepted. This
# script copies the files git would show (tracked and untracked, not ignored, as they
# are in the working tree) to build/test/run-PID/ansible_collections/polytope/core, makes that
# copy its own (empty) git repository so ansible-test reads the copied .gitignore, puts
# the community collections from VENV_DIR beside it, and runs ansible-test there.
# Results are copied back to tests/output/ of the checkout.
#
# It also installs the offline stand-in for the get-pip script that ansible-test would
# download (scripts/get-pip-offline.py) for the pip version this ansible-test pins, and
# puts real interpreter directories on PATH: pyenv shims break ansible-test.
set -euo pipefail

log() { printf '[ansible-test] %s\n' "$*" >&2; }
die() { printf '[ansible-test] ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: $0 VENV_DIR ansible-test-args..."
repo="$(cd "$(dirname "$0")/.." && pwd -P)"
venv="$(cd "$1" 2>/dev/null && pwd -P)" || die "no virtual environment at $1; run 'make setup'"
shift
[ -x "$venv/bin/ansible-test" ] || die "$venv/bin/ansible-test missing; run 'make setup'"

py="$venv/bin/python"
site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
base_bin="$(dirname "$("$py" -c 'import os, sys; print(os.path.realpath(os.path.join(sys.base_prefix, "bin", "python3")))')")"
core_version="$("$py" -c 'from ansible.release import __version__; print(__version__)')"

# ------------------------------------------------------------ get-pip stand-in --
pip_version="$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$site/ansible_test/_internal/python_requirements.py" | head -n1)"
[ -n "$pip_version" ] || die "cannot tell which pip version this ansible-test ($core_version) bootstraps"
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
target="$cache/get_pip_${pip_version//./_}.py"
if ! cmp -s "$repo/scripts/get-pip-offline.py" "$target"; then
    cp "$repo/scripts/get-pip-offline.py" "$target"
    log "installed offline get-pip stand-in: $target"
fi

# ---------------------------------------------------------------- test tree --
# one tree per run: several people (or make -j) may run ansible-test in this checkout at once
tree="$repo/build/test/run-$$/ansible_collections"
copy="$tree/polytope/core"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [ "${KEEP_TEST_TREE:-0}" = 1 ]; then
        log "kept the test tree: $copy"
    else
        rm -rf "$repo/build/test/run-$$"
    fi
}
trap cleanup EXIT
rm -rf "$repo/build/test/run-$$"
mkdir -p "$copy"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # what git shows: tracked and untracked-not-ignored files, as they are in the working tree
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
          done \
        | tar --null --no-recursion -T - -cf -) | tar -C "$copy" -xf -
else
    command -v rsync >/dev/null || die "rsync needed to copy a checkout without git"
    rsync -a --exclude=/.git --exclude='/.venv*' --exclude=/build --exclude=/tests/output \
        --exclude=__pycache__ --exclude='*.pyc' --exclude=/.ansible "$repo/" "$copy/"
fi
# its own empty repository: ansible-test then lists files with git and the copied .gitignore,
# instead of walking up to the checkout's repository (which ignores build/)
git -C "$copy" init -q
ln -sfn "$site/ansible_collections/community" "$tree/community"
[ -d "$tree/community/docker" ] || log "warning: community.docker not found in $site/ansible_collections"

# ---------------------------------------------------------------------- run --
# real directories only: the venv, the interpreter it was made from, the system
PATH="$venv/bin:$base_bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
unset PYENV_VERSION PYTHONPATH VIRTUAL_ENV ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS 2>/dev/null || true

log "ansible-core $core_version ($venv): ansible-test $*"
rc=0
(cd "$copy" && ansible-test "$@") || rc=$?

# results back to the checkout (junit, coverage, bot, data), not the temporary venvs (.tmp)
if [ -d "$copy/tests/output" ]; then
    mkdir -p "$repo/tests/output"
    for d in "$copy"/tests/output/*/; do
        [ -d "$d" ] || continue
        name="$(basename "$d")"
        mkdir -p "$repo/tests/output/$name"
        cp -a "$d". "$repo/tests/output/$name/"
    done
fi
exit "$rc"
