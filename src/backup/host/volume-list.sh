#!/usr/bin/env bash
# Prepended to volume-copy.sh and volume-compare.sh: the hash list of a volume's files, one line per regular file
#   NAME SIZE SHA256      NAME relative to the volume's root, quoted by printf %q (no blank or newline unescaped)
# sorted bytewise (LC_ALL=C): both sides of a comparison print the same line for the same file.
# shellcheck disable=SC2034,SC2016 # used by the programs this one is prepended to; bash -c expands it, per file
entry_program='[ "${TAR_FILETYPE:-f}" = f ] || { cat >/dev/null; exit 0; }
h=$(sha256sum) || exit 1
n=${TAR_FILENAME#./}
printf "%q %s %s\n" "$n" "$TAR_SIZE" "${h%% *}"'
# The list of a directory's files as they are on disk (the restore test's extracted copy).
list_tree() {
  ( cd -- "$1" || exit 1
    find . -type f -print0 | while IFS= read -r -d '' f; do
      h=$(sha256sum <"$f") || exit 1
      printf '%q %s %s\n' "${f#./}" "$(stat -c %s -- "$f")" "${h%% *}"
    done ) | LC_ALL=C sort
}
# The list of a tar stream's files, as tar reads them (the archive just written): on stdin.
list_tar() {
  tar -xf - --to-command="bash -c '$entry_program'" | LC_ALL=C sort
}
