#!/usr/bin/env bash
# The on-host copy (hostCopy.ts writeHostCopy): pg_dump | zstd into DIR/db.dump.zst, written as .partial and renamed,
# then checked there.
#   write-copy.sh BASE DIR LEVEL N DUMP_ARGV(N words)... LIST_ARGV...
# umask 077: root-only, what it creates. A backup directory that exists keeps its mode (coopctl_backup_dir:
# /var/backups is 0755, others read there); the directories below it are coopctl's, made 0700. While it works,
# `progress N` (bytes written) each second, then a `checked` line per check done, then `copy SHA256 SIZE`; if that
# output goes nowhere (the operator's connection is gone) it removes the copy and stops everything it started.
# Exit 10: the dump failed, 11: the check failed; then nothing of this copy is left. The file is read back twice
# at once, by sha256sum and by zstd -t: each is a core's work (bench/README.md), side by side they take one's time.
set -o pipefail
umask 077
base=$1 d=$2 level=$3
shift 3
n=$1
shift
dump=("${@:1:n}")
shift "$n"
list=("$@")
out="$d/db.dump.zst" part="$d/db.dump.zst.partial"
# shellcheck disable=SC2174 # -m for the deepest only: umask 077 makes its parents 0700 too
{ [ -d "$base" ] || mkdir -p -m 0700 -- "$base"; } && mkdir -p -- "$d" || exit 10
( trap '' PIPE
  while sleep 1; do
    printf 'progress %s\n' "$(stat -c %s -- "$part" 2>/dev/null || echo 0)" || { rm -rf -- "$d"; kill -TERM 0; }
  done ) &
loop=$!
fail() { kill "$loop" 2>/dev/null; rm -rf -- "$d"; echo "coopctl: $2" >&2; exit "$1"; }
# -T1: one compressing thread. zstd -1 on a quiet core (~300 MB/s) keeps up with pg_dump (~170 MB/s), which with its
# server process needs the other cores; -T0's extra threads took CPU from them (bench/README.md, issue 18).
"${dump[@]}" | zstd "-$level" -T1 -q -c >"$part" || fail 10 'the dump or its compression failed'
mv -- "$part" "$out" || fail 10 "cannot rename $part"
kill "$loop" 2>/dev/null
size=$(stat -c %s -- "$out") || fail 11 "cannot stat $out"
zstd -tq -- "$out" &
tested=$!
sum=$(sha256sum -- "$out") || { wait "$tested"; fail 11 "cannot read $out"; }
echo 'checked sha256'
wait "$tested" || fail 11 'zstd -t: the compressed dump is damaged'
echo 'checked zstd -t'
{ zstd -dcq -- "$out" 2>/dev/null; true; } | "${list[@]}" >/dev/null || fail 11 'pg_restore --list refused the dump'
echo "copy ${sum%% *} $size"
