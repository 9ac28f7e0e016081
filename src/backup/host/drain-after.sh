#!/usr/bin/env bash
# Runs COMMAND on stdin, then, if it succeeded, reads the rest of stdin to the end: pg_restore listing stops after
# the table of contents, and what feeds it (zstd -d, which checks every frame) must not fail on a broken pipe.
#   drain-after.sh COMMAND...
"$@" && exec cat >/dev/null
