#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for coopctl and its sandbox:
# ansible-core, OpenSSH server, PostgreSQL 15, zstd, age, rclone (backups from the sandbox hosts to its S3 store),
# gnupg and pass, git, nginx (the sandbox's caching proxy), sudo (the sandbox's host reached with sudo), shellcheck
# (scripts/test.sh checks the host programs with it), ansible-lint (and the playbook with it), Prometheus, Alertmanager
# and the blackbox and node exporters (the tests check `monitor render`'s output with promtool, amtool and the
# exporter; on a machine that runs systemd, Debian starts their services on 9090, 9093, 9115 and 9100); then the npm
# packages.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ansible-playbook >/dev/null || missing+=(ansible-core)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15 postgresql-client-15)
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server mariadb-client)
command -v zstd >/dev/null || missing+=(zstd)
command -v age >/dev/null || missing+=(age)
command -v rclone >/dev/null || missing+=(rclone)
command -v gpg >/dev/null || missing+=(gnupg)
command -v pass >/dev/null || missing+=(pass)
command -v git >/dev/null || missing+=(git)
command -v tmux >/dev/null || missing+=(tmux)
# libfaketime: the tests run coopctl with a laptop clock that is off, the hosts keeping theirs
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(faketime)
command -v ip >/dev/null || missing+=(iproute2)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/sudo ] || missing+=(sudo)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v ansible-lint >/dev/null || missing+=(ansible-lint)
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
command -v prometheus-node-exporter >/dev/null || missing+=(prometheus-node-exporter)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
elif [ "${1:-}" != "--no-build" ]; then
  npm run --silent build
fi
