#!/usr/bin/env bash
# After volume-list.sh. A Docker volume's files into the on-host copy (volumeCopy.ts writeVolumeCopy):
#   volume-copy.sh BASE DIR NAME MOUNTPOINT LEVEL
# tar of the volume's Mountpoint (volume-swap.sh mountpoint) | zstd into DIR/volume-NAME.tar.zst, written as .partial
# and renamed; then the archive read back by tar: the hash list of the files it holds (volume-list.sh), compressed
# into DIR/volume-NAME.sums.zst. umask 077: root-only, as the database's copy (write-copy.sh). While it works,
# `progress N` (bytes of the archive written) each second; then `checked tar`, then
#   volume ARCHIVE_SHA256 ARCHIVE_SIZE FILES BYTES LIST_SHA256
# If that output goes nowhere (the operator's connection is gone) it removes what it wrote and stops.
# Exit 10: the volume could not be read or archived, 11: the archive does not read back.
set -o pipefail
umask 077
base=$1 d=$2 name=$3 mp=$4 level=$5
out="$d/volume-$name.tar.zst" part="$d/volume-$name.tar.zst.partial" sums="$d/volume-$name.sums.zst"
# shellcheck disable=SC2174 # -m for the deepest only: umask 077 makes its parents 0700 too
{ [ -d "$base" ] || mkdir -p -m 0700 -- "$base"; } && mkdir -p -- "$d" || exit 10
( trap '' PIPE
  while sleep 1; do
    printf 'progress %s\n' "$(stat -c %s -- "$part" 2>/dev/null || echo 0)" ||
      { rm -f -- "$part" "$out" "$sums"; kill -TERM 0; }
  done ) &
loop=$!
fail() { kill "$loop" 2>/dev/null; rm -f -- "$part" "$out" "$sums"; echo "coopctl: $2" >&2; exit "$1"; }
# Numeric owners: the restore gives each file the uid the app's container wrote it with (www-data is 33 there).
# GNU tar exits 1 when a file changed while it was read (a live app writing): the archive holds what tar read, and
# the hash list below is of the archive, so a backup and its restore test agree; a warning, not a failure
# (https://www.gnu.org/software/tar/manual/html_section/Synopsis.html, "Exit status").
tar -C "$mp" --numeric-owner -cf - . | zstd "-$level" -T1 -q -c >"$part"
statuses=("${PIPESTATUS[@]}")
if [ "${statuses[1]}" -ne 0 ] || [ "${statuses[0]}" -gt 1 ]; then fail 10 "the archive of $mp failed"; fi
[ "${statuses[0]}" -eq 0 ] || echo "warning: files of $name changed while they were archived: as tar read them"
mv -- "$part" "$out" || fail 10 "cannot rename $part"
kill "$loop" 2>/dev/null
size=$(stat -c %s -- "$out") || fail 11 "cannot stat $out"
sum=$(sha256sum -- "$out") || fail 11 "cannot read $out"
list=$(zstd -dcq -- "$out" | list_tar) || fail 11 "the archive $out does not read back"
echo 'checked tar'
[ -z "$list" ] || list+=$'\n'
printf '%s' "$list" | zstd -q -c >"$sums" || fail 10 "cannot write $sums"
files=$(printf '%s' "$list" | grep -c '') bytes=$(printf '%s' "$list" | awk '{ n += $(NF-1) } END { print n + 0 }')
digest=$(printf '%s' "$list" | sha256sum)
echo "volume ${sum%% *} $size $files $bytes ${digest%% *}"
