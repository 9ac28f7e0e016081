#!/usr/bin/env bash
# MariaDB's client tools where the database runs (in its container, through `docker exec -i`), as root with the
# password the container was given. The password goes to the tool in MYSQL_PWD, an environment variable of that
# one process (readable by its own user and root only, never in a process list) rather than a temp file, which a
# `kill -9` would leave behind.
#   mariadb-client.sh version                        mariadb-dump --version
#   mariadb-client.sh dump DB                        mariadb-dump of DB to stdout (no CREATE DATABASE: restorable
#                                                    under another name)
#   mariadb-client.sh sql DB|-                       SQL on stdin, rows tab-separated on stdout (- : no database)
#   mariadb-client.sh load DB                        a dump on stdin into DB, which exists and is empty
#   mariadb-client.sh swap LIVE RESTORED PREVIOUS    LIVE's tables to PREVIOUS and RESTORED's to LIVE in one
#                                                    RENAME TABLE (atomic); RESTORED, then empty, is dropped
set -euo pipefail
# source: MariaDB/mariadb-docker 10.11/docker-entrypoint.sh (file_env: MARIADB_ROOT_PASSWORD or
# MYSQL_ROOT_PASSWORD, each also as a *_FILE naming a file, Docker's secrets). `docker exec` gets the container's
# configured environment, where the *_FILE variable is still set: the entrypoint's own exports do not reach it.
root_password() {
  local v
  for v in MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD; do
    if [ -n "${!v:-}" ]; then printf '%s' "${!v}"; return; fi
    local f="${v}_FILE"
    if [ -n "${!f:-}" ]; then cat -- "${!f}"; return; fi
  done
  # a restore test's throw-away server: no network, reached only through `docker exec`
  if [ -n "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then return; fi
  echo "no root password in this container's environment (MARIADB_ROOT_PASSWORD[_FILE], MYSQL_ROOT_PASSWORD[_FILE])" >&2
  exit 2
}
MYSQL_PWD=$(root_password)
export MYSQL_PWD
name() { [[ $1 =~ ^[A-Za-z0-9_]{1,64}$ ]] || { echo "not a database name: $1" >&2; exit 2; }; }
client=(mariadb --user=root --batch --skip-column-names --default-character-set=utf8mb4)
mode=$1
shift
case $mode in
  version)
    exec mariadb-dump --version
    ;;
  dump)
    name "$1"
    # --single-transaction: one consistent InnoDB snapshot, no locks held against the app; --routines --triggers
    # --events: every object of the database; --hex-blob: binary columns (MediaWiki's varbinary titles, blobs) as
    # hex literals, which survive any client character set; utf8mb4: the full Unicode range (emoji in user names)
    # as the server stores it, never squeezed through utf8mb3.
    exec mariadb-dump --user=root --single-transaction --routines --triggers --events --hex-blob \
      --default-character-set=utf8mb4 -- "$1"
    ;;
  sql)
    [ "$1" = - ] && exec "${client[@]}"
    name "$1"
    exec "${client[@]}" --database="$1"
    ;;
  load)
    name "$1"
    exec "${client[@]}" --binary-mode --database="$1"
    ;;
  swap)
    live=$1 restored=$2 previous=$3
    name "$live"; name "$restored"; name "$previous"
    # RENAME TABLE moves base tables only: a view, routine or event would stay behind in the wrong database.
    others=$("${client[@]}" <<SQL
SELECT concat(table_schema, '.', table_name, ' (', table_type, ')') FROM information_schema.tables
 WHERE table_schema IN ('$live', '$restored') AND table_type <> 'BASE TABLE'
UNION ALL SELECT concat(routine_schema, '.', routine_name, ' (', routine_type, ')') FROM information_schema.routines
 WHERE routine_schema IN ('$live', '$restored')
UNION ALL SELECT concat(event_schema, '.', event_name, ' (EVENT)') FROM information_schema.events
 WHERE event_schema IN ('$live', '$restored')
UNION ALL SELECT concat(trigger_schema, '.', trigger_name, ' (TRIGGER)') FROM information_schema.triggers
 WHERE trigger_schema IN ('$live', '$restored');
SQL
)
    if [ -n "$others" ]; then
      echo "cannot swap $live and $restored with RENAME TABLE: they hold more than tables: ${others//$'\n'/, }" >&2
      exit 3
    fi
    renames=$("${client[@]}" <<SQL
SET SESSION group_concat_max_len = 1048576;
SELECT group_concat(concat('\`', table_schema, '\`.\`', table_name, '\` TO \`',
         IF(table_schema = '$live', '$previous', '$live'), '\`.\`', table_name, '\`')
       ORDER BY table_schema = '$restored', table_name SEPARATOR ', ')
  FROM information_schema.tables WHERE table_schema IN ('$live', '$restored');
SQL
)
    [ "$renames" != NULL ] || { echo "neither $live nor $restored has a table" >&2; exit 3; }
    "${client[@]}" <<<"CREATE DATABASE \`$previous\`;" || exit 1
    if ! "${client[@]}" <<<"RENAME TABLE $renames;"; then
      # One statement: it moved all or nothing. The new database is removed only when it is still empty.
      n=$("${client[@]}" <<<"SELECT count(*) FROM information_schema.tables WHERE table_schema = '$previous';")
      [ "$n" = 0 ] && "${client[@]}" <<<"DROP DATABASE \`$previous\`;"
      exit 1
    fi
    "${client[@]}" <<<"DROP DATABASE \`$restored\`;"
    ;;
  *)
    echo "mariadb-client.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
