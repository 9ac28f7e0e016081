#!/usr/bin/env bash
# After watchdog.sh. Runs one command line on the host, stopped there when its SSH channel closes (hostRun.ts).
#   stops-with-channel.sh LINE
watchdog_start
watchdog=$!
bash -c "$1"
rc=$?
kill "$watchdog" 2>/dev/null
exit "$rc"
