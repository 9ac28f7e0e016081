#!/usr/bin/env bash
# Put before a program that calls `watchdog_start; watchdog=$!` (and `kill "$watchdog"` when done): a blank line on
# stderr every 2 s. Once coopctl has closed the channel (Ctrl-C, no progress) the write fails and the watchdog ends
# the whole process group, so nothing goes on working for no one. What runs under `docker exec` is not in that
# group: the caller ends its database session.
watchdog_start() {
  # shellcheck disable=SC2217 # sleep must hold none of the channel's descriptors, or it would keep it open
  ( trap '' PIPE; while sleep 2 </dev/null >/dev/null 2>&1; do printf '\n' >&2 || { kill -TERM 0; exit; }; done ) &
}
