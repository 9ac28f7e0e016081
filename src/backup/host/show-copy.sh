#!/usr/bin/env bash
# The manifest of the on-host copy in DIR, when the copy is complete (its dump is there); else exit 1.
#   show-copy.sh DIR
test -f "$1/db.dump.zst" && cat -- "$1/manifest.json"
