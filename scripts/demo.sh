#!/usr/bin/env bash
# The main job on the sandbox: install what is missing, build the sandbox
# (real sshd hosts, PostgreSQL, Ansible, the abra double, s3rver), then show
# status and the preflight of an upgrade of Mastodon on alpha.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
dir="${SANDBOX_DIR:-.sandbox}"
./bin/coopctl sandbox up --dir "$dir"
./bin/coopctl -c "$dir/coopctl.yaml" status
./bin/coopctl -c "$dir/coopctl.yaml" versions mastodon --env alpha
./bin/coopctl -c "$dir/coopctl.yaml" preflight mastodon --env alpha --to 4.4.8 || true
echo
echo "The sandbox keeps running; stop it with: ./bin/coopctl sandbox down --dir $dir"
