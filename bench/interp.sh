#!/bin/sh
# Module interpreter for bench/run.py: runs the real Python under GNU time and appends the module
# process's elapsed seconds, peak RSS (KiB), user and system CPU seconds to $POLYBENCH_MODULE_LOG.
exec /usr/bin/time -a -o "${POLYBENCH_MODULE_LOG:-/dev/null}" -f '%e %M %U %S' "${POLYBENCH_PYTHON:?}" "$@"
