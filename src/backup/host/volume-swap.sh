#!/usr/bin/env bash
# A restored volume in place of the live one (volumeRestore.ts), with the app's services stopped: Docker's
# Mountpoint directory renamed, on its own filesystem (one rename each, nothing copied):
#   volume-swap.sh mountpoint VOLUME          prints `mountpoint DIR` (docker volume inspect)
#   volume-swap.sh sizes VOLUME...            prints `size BYTES VOLUME DIR` for each (du -sb of its Mountpoint DIR),
#                                             read-only: the room a backup and a restore of the volumes need
#   volume-swap.sh swap DIR STAMP             DIR → DIR.coopctl-before-STAMP, DIR.coopctl-restored-STAMP → DIR
#   volume-swap.sh undo DIR STAMP             the other way round, as far as the swap went
#   volume-swap.sh leftovers DIR              `leftover BYTES PATH` for each DIR.coopctl-(before|restored)-*
# Prints `swapped`/`undone` when done; exit 1 with a message otherwise.
set -o pipefail
op=$1
# The volume $1's Mountpoint directory into $mp; exit 12 when Docker has no such volume or no such directory.
mountpoint_of() {
  # source: https://docs.docker.com/reference/cli/docker/volume/inspect/ (--format '{{ .Mountpoint }}')
  mp=$(docker volume inspect --format '{{ .Mountpoint }}' "$1") || exit 12
  [ -d "$mp" ] || { echo "coopctl: volume $1: its Mountpoint $mp is not a directory" >&2; exit 12; }
}
case $op in
  mountpoint)
    mountpoint_of "$2"
    echo "mountpoint $mp"
    ;;
  sizes)
    for v in "${@:2}"; do
      mountpoint_of "$v"
      size=$(du -sb -- "$mp" | cut -f1) || size=
      [ -n "$size" ] || { echo "coopctl: volume $v: du -sb $mp failed" >&2; exit 13; }
      printf 'size %s %s %s\n' "$size" "$v" "$mp"
    done
    ;;
  swap)
    dir=$2 before="$2.coopctl-before-$3" restored="$2.coopctl-restored-$3"
    [ -d "$restored" ] || { echo "coopctl: $restored is missing" >&2; exit 1; }
    [ ! -e "$before" ] || { echo "coopctl: $before exists already" >&2; exit 1; }
    mv -T -- "$dir" "$before" || exit 1
    mv -T -- "$restored" "$dir" || { mv -T -- "$before" "$dir"; exit 1; }
    echo swapped
    ;;
  undo)
    dir=$2 before="$2.coopctl-before-$3" restored="$2.coopctl-restored-$3"
    [ -d "$before" ] || { echo "coopctl: $before is missing: nothing to undo" >&2; exit 1; }
    if [ -e "$dir" ]; then mv -T -- "$dir" "$restored" || exit 1; fi
    mv -T -- "$before" "$dir" || exit 1
    echo undone
    ;;
  leftovers)
    for d in "$2".coopctl-before-* "$2".coopctl-restored-*; do
      [ -d "$d" ] || continue
      size=$(du -sb -- "$d" | cut -f1) || size=
      printf 'leftover %s %s\n' "${size:--}" "$d"
    done
    ;;
  *) echo "coopctl: volume-swap.sh: unknown operation $op" >&2; exit 2 ;;
esac
