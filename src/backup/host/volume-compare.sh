#!/usr/bin/env bash
# After volume-list.sh. The restore test of a volume (volumeVerify.ts): the archive on stdin (what read.sh decrypted
# and decompressed) extracted into SCRATCH (a new directory, removed at the end whatever happens), its files hashed
# as they landed on disk and compared with the backup's hash list (the file EXPECTED, removed too).
#   volume-compare.sh SCRATCH EXPECTED
# Prints `extracted FILES BYTES LIST_SHA256` (of what landed), then `differs NAME` for the first line that differs
# from EXPECTED (the file's name as the list quotes it), if one does. Exit 10: the archive did not extract.
set -o pipefail
umask 077
scratch=$1 expected=$2
trap 'rm -rf -- "$scratch" "$expected"' EXIT
mkdir -- "$scratch" || exit 10
tar -C "$scratch" --numeric-owner -xf - || { echo "coopctl: the archive did not extract into $scratch" >&2; exit 10; }
actual=$(list_tree "$scratch") || exit 10
[ -z "$actual" ] || actual+=$'\n'
files=$(printf '%s' "$actual" | grep -c '') bytes=$(printf '%s' "$actual" | awk '{ n += $(NF-1) } END { print n + 0 }')
digest=$(printf '%s' "$actual" | sha256sum)
echo "extracted $files $bytes ${digest%% *}"
# The first differing line of either list: a changed file, one missing from the extract, or one it has in excess.
first=$(diff <(cat -- "$expected") <(printf '%s' "$actual") | sed -nE 's/^[<>] (.*) [0-9]+ [0-9a-f]{64}$/\1/p' | head -n 1)
[ -z "$first" ] || echo "differs $first"
