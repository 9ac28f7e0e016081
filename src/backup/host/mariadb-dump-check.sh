#!/usr/bin/env bash
# Reads a plain mariadb-dump on stdin and checks that it is whole: its first line is mariadb-dump's header and its
# last is the "-- Dump completed" comment mariadb-dump writes only once every table is out (a dump cut off, or
# one whose server went away, lacks it). Reads to the end, so that the compressor before it checks every frame.
# source: MariaDB server client/mysqldump.c (write_header: "-- MariaDB dump"; write_footer: "-- Dump completed",
# both printed with --comments, the default). Since 10.11.8 (10.5.25, 10.6.18, ...) the first line is
# `/*M!999999\- enable the sandbox mode */` and the header follows it (recorded: mariadb-dump 10.19 of Debian's
# 10.11.19).
set -uo pipefail
IFS= read -r first || { echo 'the dump is empty' >&2; exit 1; }
if [[ $first == '/*M!999999\- enable the sandbox mode */'* ]]; then
  IFS= read -r first || { echo 'the dump ends after its first line' >&2; exit 1; }
fi
last=$(tail -n 1)
case $first in
  '-- MariaDB dump'* | '-- MySQL dump'*) ;;
  *) echo "not a mariadb-dump: its first line is ${first:0:60}" >&2; exit 1 ;;
esac
case $last in
  '-- Dump completed'*) ;;
  *) echo 'the dump ends before mariadb-dump finished it (no "-- Dump completed" line)' >&2; exit 1 ;;
esac
