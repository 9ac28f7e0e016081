#!/usr/bin/env bash
# Removes the on-host copies of one service/env beyond the newest KEEP, except those named (in use).
#   prune-copies.sh COPY_DIR KEEP [IN_USE_ID...]   (COPY_DIR: <dir>/<service>/<env>/<id>; its parent is pruned)
# Prints "pruned DIR" for each copy removed.
d=$1 keep=$2
shift 2
mapfile -t all < <(printf '%s\n' "${d%/*}"/*/manifest.json | sort -r)
for m in "${all[@]:keep}"; do
  [ -e "$m" ] || continue
  c=${m%/manifest.json}
  for used in "$@"; do [ "${c##*/}" = "$used" ] && continue 2; done
  rm -rf -- "$c" && echo "pruned $c"
done
