#!/usr/bin/env bash
# Prepended to volume-copy.sh and volume-compare.sh: the hash list of a volume's files, one line per regular file
#   NAME SIZE SHA256      NAME relative to the volume's root, quoted by printf %q (no blank or newline unescaped)
# sorted bytewise (LC_ALL=C): both sides of a comparison print the same line for the same file. The names travel
# NUL-terminated until printf quotes them; a few processes per list, not per file, where tar allows it.
# Each `NUL-terminated "SHA256 SIZE NAME"` record as a list line.
list_lines() {
  local rec rest
  while IFS= read -r -d '' rec; do
    rest=${rec#* }
    printf '%q %s %s\n' "${rest#* ./}" "${rest%% *}" "${rec%% *}"
  done | LC_ALL=C sort
}
# The list of a directory's files as they are on disk (a restore's extract): sizes from find, hashes from one
# sha256sum per batch (-z: names unescaped, NUL-terminated).
list_tree() {
  ( cd -- "$1" || exit 1
    declare -A size
    while IFS= read -r -d '' rec; do size[${rec#* }]=${rec%% *}; done < <(find . -type f -printf '%s %p\0')
    find . -type f -print0 | xargs -0 -r sha256sum -z | while IFS= read -r -d '' rec; do
      f=${rec#*  }
      printf '%s %s %s\0' "${rec%% *}" "${size[$f]}" "$f"
    done ) | list_lines
}
# The list of a tar stream's files, as tar reads them (the archive just written): on stdin. tar runs the command
# with /bin/sh -c for each regular file, its content on stdin, TAR_SIZE and TAR_FILENAME set (GNU tar manual,
# "Writing to an External Program").
list_tar() {
  # shellcheck disable=SC2016 # expanded by the /bin/sh tar starts, per file
  tar -xf - --to-command='[ "$TAR_FILETYPE" = f ] || { cat >/dev/null; exit 0; }
set -- $(sha256sum) && printf "%s %s ./%s\0" "$1" "$TAR_SIZE" "${TAR_FILENAME#./}"' | list_lines
}
