#!/usr/bin/env bash
# Reads a plain mariadb-dump on stdin and checks that it is whole: its header is mariadb-dump's and its last line
# the "-- Dump completed" comment mariadb-dump writes only once every table is out (a dump cut off, or one whose
# server went away, lacks it). Prints "data TABLE" for each table it holds rows of. Reads to the end, so that the
# decompressor before it checks every frame.
# source: MariaDB server client/mysqldump.c (write_header: "-- MariaDB dump"; write_footer: "-- Dump completed",
# both printed with --comments, the default; rows as "INSERT INTO `TABLE` VALUES"). Since 10.11.8 (10.5.25,
# 10.6.18, ...) the first line is `/*M!999999\- enable the sandbox mode */` and the header follows it (recorded:
# mariadb-dump 10.19 of Debian's 10.11.19).
LC_ALL=C exec awk '
  NR == 1 && index($0, "/*M!999999\\- enable the sandbox mode */") == 1 { next }
  !head { head = 1; if ($0 !~ /^-- (MariaDB|MySQL) dump/) { bad = "not a mariadb-dump: it starts with " substr($0, 1, 60) } }
  /^INSERT INTO `/ {
    t = substr($0, 14); t = substr(t, 1, index(t, "`") - 1)
    if (!(t in seen)) { seen[t] = 1; print "data " t }
  }
  { last = $0 }
  END {
    if (NR == 0) bad = "the dump is empty"
    else if (!bad && last !~ /^-- Dump completed/)
      bad = "the dump ends before mariadb-dump finished it (no \"-- Dump completed\" line)"
    if (bad) { print bad > "/dev/stderr"; exit 1 }
  }'
