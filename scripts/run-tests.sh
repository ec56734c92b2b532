#!/usr/bin/env bash
# Run several make targets one after the other, continue past failures, print each
# step's time and a summary; exit non-zero when any step failed (used by `make test`).
# A step that prints a line "<step>: ... skipped" and exits 0 counts as skipped.
#
#   scripts/run-tests.sh lint sanity units ...
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
log="$(mktemp /tmp/polytope-run-tests.XXXXXX)"
trap 'rm -f "$log"' EXIT
results=()
passed=0 failed=0 skipped=0
total_start=$(date +%s)
for step in "$@"; do
    printf '\n======== make %s ========\n' "$step"
    start=$(date +%s)
    make --no-print-directory "$step" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    secs=$(( $(date +%s) - start ))
    if [ "$rc" != 0 ]; then
        status=FAILED; failed=$((failed + 1))
    elif grep -q "^$step: .*skipped\$" "$log"; then
        status=skipped; skipped=$((skipped + 1))
    else
        status=passed; passed=$((passed + 1))
    fi
    results+=("$(printf '%-12s %-8s %5ds' "$step" "$status" "$secs")")
    printf '======== make %s: %s (exit %d) after %ds ========\n' "$step" "$status" "$rc" "$secs"
done
printf '\n======== summary: make test steps (%ds) ========\n' "$(( $(date +%s) - total_start ))"
printf '%s\n' "${results[@]}"
printf 'steps: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" = 0 ]
