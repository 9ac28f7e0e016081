#!/usr/bin/env bash
# stdin → FILE, root-only, complete or not at all (written beside it, then renamed).   write-private.sh FILE
umask 077
cat >"$1.partial" && mv -- "$1.partial" "$1"
