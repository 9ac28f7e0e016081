#!/usr/bin/env bash
# One file of the host, encrypted with age to the recipients (none given: sent as it is), to the store: after
# s3-preamble.sh by `rclone rcat` (S3), or, REMOTE "-", on stdout for coopctl to relay into a store on its machine.
#   send.sh FILE REMOTE CHUNK [RECIPIENT...]
# Reports `plain-sha256 HEX` (of the file as read), `stored-sha256 HEX` and `stored-bytes N` (of what was sent),
# and `progress N` lines (bytes of the file read so far, every second): on stdout, or on stderr when stdout carries
# the data. If the reports go nowhere (the operator's connection closed), it stops everything it started.
set -o pipefail
file=$1 remote=$2 chunk=$3
shift 3
a=()
for r in "$@"; do a+=(-r "$r"); done
if [ "$remote" = - ]; then exec 3>&2; else exec 3>&1; fi
exec 5<"$file" || exit 1
( trap '' PIPE
  while sleep 1; do sed -n 's/^pos:[[:space:]]*/progress /p' "/proc/$$/fdinfo/5" >&3 || kill -TERM 0; done ) &
loop=$!
exec 7> >(sha256sum | { read -r h _; echo "plain-sha256 $h" >&3; }); plain=$!
exec 4> >(sha256sum | { read -r h _; echo "stored-sha256 $h" >&3; }); hashed=$!
exec 6> >(wc -c | { read -r n; echo "stored-bytes $n" >&3; }); counted=$!
seal() { if [ "${#a[@]}" -gt 0 ]; then age "${a[@]}"; else cat; fi; }
# The file read once: hashed as it is (7), sealed, and what goes out hashed and counted (4, 6) on its way.
if [ "$remote" = - ]; then
  tee /dev/fd/7 <&5 | seal 7>&- | tee /dev/fd/4 /dev/fd/6 7>&-
else
  tee /dev/fd/7 <&5 | seal 7>&- | tee /dev/fd/4 /dev/fd/6 7>&- |
    rclone rcat --s3-chunk-size "$chunk" "$remote" 4>&- 6>&- 7>&-
fi
st=$?
exec 4>&- 6>&- 7>&-
wait "$hashed" "$counted" "$plain"
kill "$loop" 2>/dev/null
exit "$st"
