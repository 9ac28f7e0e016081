#!/usr/bin/env bash
# The directories of the complete on-host copies (a manifest and the dump) under DIR, one a line.
#   list-copies.sh DIR      (DIR: <dir>/<service>/<env>)
for m in "$1"/*/manifest.json; do [ -f "${m%/*}/db.dump.zst" ] && echo "${m%/*}"; done
