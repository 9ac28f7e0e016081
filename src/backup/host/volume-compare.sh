#!/usr/bin/env bash
# After volume-list.sh. A volume's archive extracted into DEST (a new directory), its files hashed as they landed
# on disk and compared with the backup's hash list EXPECTED (volumeVerify.ts, volumeRestore.ts):
#   volume-compare.sh DEST EXPECTED scratch|keep [ARCHIVE]
# The archive: on stdin (what read.sh decrypted and decompressed), or the on-host copy's ARCHIVE (zstd), whose
# hash list EXPECTED is then the copy's (zstd, left in place). `scratch` (a restore test): DEST is removed at the
# end whatever happens; `keep` (a restore): DEST stays when it matches, for the swap (volume-swap.sh).
# Prints `extracted FILES BYTES LIST_SHA256` (of what landed), then `differs NAME` for the first line that differs
# from EXPECTED (the file's name as the list quotes it), if one does. Exit 10: the archive did not extract.
set -o pipefail
umask 077
dest=$1 expected=$2 mode=$3 archive=${4:-}
keep=
cleanup() {
  [ -n "$keep" ] || rm -rf -- "$dest"
  [ -n "$archive" ] || rm -f -- "$expected"
}
trap cleanup EXIT
mkdir -- "$dest" || exit 10
if [ -n "$archive" ]; then
  exec 0< <(zstd -dcq -- "$archive")
  want() { zstd -dcq -- "$expected"; }
else
  want() { cat -- "$expected"; }
fi
tar -C "$dest" --numeric-owner -xf - || { echo "coopctl: the archive did not extract into $dest" >&2; exit 10; }
actual=$(list_tree "$dest") || exit 10
[ -z "$actual" ] || actual+=$'\n'
files=$(printf '%s' "$actual" | grep -c '') bytes=$(printf '%s' "$actual" | awk '{ n += $(NF-1) } END { print n + 0 }')
digest=$(printf '%s' "$actual" | sha256sum)
echo "extracted $files $bytes ${digest%% *}"
# The first differing line of either list: a changed file, one missing from the extract, or one it has in excess.
first=$(diff <(want) <(printf '%s' "$actual") | sed -nE 's/^[<>] (.*) [0-9]+ [0-9a-f]{64}$/\1/p' | head -n 1)
if [ -n "$first" ]; then echo "differs $first"; elif [ "$mode" = keep ]; then keep=1; fi
