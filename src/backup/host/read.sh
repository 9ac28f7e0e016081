#!/usr/bin/env bash
# After watchdog.sh (and s3-preamble.sh for an S3 object). The read side of the server-side data path: the host
# fetches an object (SRC: an rclone path; "-": the bytes coopctl relays on stdin), hashes it, and with a command
# decrypts it (age, the identities on stdin), hashes the plaintext and feeds its `zstd -d` to that command.
#   read.sh SRC hash|age|none [COMMAND...]     stdin (age): IDENTITY lines, a blank line; then (SRC "-") the object
# The identities stay in this shell's memory (never argv, the environment or a file): age reads them from a pipe.
# Prints the command's output, then one result line:
#   coopctl-read fetch=EXIT exit=EXIT sha256=HEX size=N plain=HEX
# `tee -p` goes on hashing the whole object when what it feeds stops early (pg_restore failing), so a failure
# downstream is never mistaken for a changed object. dd reports its count every second, turned into `bytes N`
# lines on stderr. Each hash lands in a file of a private temporary directory (hashes are no secret) and `wait`
# collects the process substitutions before the result line is printed, after everything else on stdout (fetched
# runs in a subshell: its `wait` is not for the watchdog).
src=$1 mode=$2
shift 2
ids=()
if [ "$mode" = age ]; then
  while IFS= read -r l && [ -n "$l" ]; do ids+=("$l"); done
fi
need=zstd
[ "$src" = - ] || need="rclone $need"
[ "$mode" = age ] && need="$need age"
for t in $need; do
  type -P "$t" >/dev/null || { echo "coopctl: $t is not installed on this host" >&2; exit 127; }
done
d=$(mktemp -d) || exit 98
trap 'rm -rf "$d"' EXIT
trap 'exit 143' TERM
watchdog_start
watchdog=$!
set -o pipefail
# dd's counts ("\rN bytes ...", each ended only by the next one's \r) as "bytes N" lines, at once: a count that
# no \r has followed within 0.5 s is complete (bash reads a pipe byte by byte; awk would buffer it all).
progress() {
  local l rc
  while :; do
    IFS= read -r -t 0.5 -d $'\r' l
    rc=$?
    case $l in [0-9]*' bytes '*) echo "bytes ${l%% *}" ;; esac
    [ "$rc" -eq 0 ] || [ "$rc" -gt 128 ] || break
  done
}
fetch() {
  if [ "$src" = - ]; then cat; else rclone cat "$src" </dev/null; fi
}
# The object, hashed and counted on its way out. Each hash's writer is waited for by its pid (`wait` alone waits
# for the last process substitution only).
fetched() {
  local hashed counted
  exec 4> >(sha256sum >"$d/object")
  hashed=$!
  exec 6> >(wc -c >"$d/size")
  counted=$!
  { fetch; echo "$?" >"$d/fetch"; } | dd bs=1M status=progress 2> >(progress >&2) | tee -p /dev/fd/4 /dev/fd/6
  exec 4>&- 6>&-
  wait "$hashed" "$counted"
}
st=0
if [ "$src" != - ]; then
  # rclone cat reads a missing object as an empty directory (exit 0): an object is what --stat says is no directory.
  stat=$(rclone lsjson --stat "$src" </dev/null)
  st=$?
  if [ "$st" -eq 0 ]; then
    case $stat in
      *'"IsDir": false'* | *'"IsDir":false'*) ;;
      *) echo "coopctl: $src: object not found" >&2; st=4 ;;
    esac
  fi
fi
if [ "$st" -ne 0 ]; then
  kill "$watchdog" 2>/dev/null
  printf 'coopctl-read fetch=%s exit=0 sha256= size= plain=\n' "$st"
  exit 0
fi
# The object comes from a process substitution of this shell (for age: a file argument), so that it is waited for
# here: after age stops early (a wrong key), it goes on reading and hashing the whole object.
if [ "$mode" = hash ]; then
  (fetched) >/dev/null
  rc=$?
else
  exec 8< <(fetched)
  fetcher=$!
  exec 9> >(sha256sum >"$d/plain")
  plain=$!
  if [ "$mode" = age ]; then
    age -d -i <(printf '%s\n' "${ids[@]}") /dev/fd/8 9>&- | tee -p /dev/fd/9 8<&- | zstd -d -q -c 8<&- 9>&- | "$@" 8<&- 9>&-
  else
    tee -p /dev/fd/9 <&8 8<&- | zstd -d -q -c 8<&- 9>&- | "$@" 8<&- 9>&-
  fi
  rc=$?
  exec 8<&- 9>&-
  wait "$fetcher" "$plain"
fi
kill "$watchdog" 2>/dev/null
printf 'coopctl-read fetch=%s exit=%s sha256=%s size=%s plain=%s\n' "$(cat "$d/fetch" 2>/dev/null)" "$rc" \
  "$(cut -c1-64 "$d/object" 2>/dev/null)" "$(tr -d ' ' <"$d/size" 2>/dev/null)" "$(cut -c1-64 "$d/plain" 2>/dev/null)"
exit "$rc"
