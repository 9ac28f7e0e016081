#!/usr/bin/env bash
# The main job on the sandbox: install what is missing, build the sandbox
# (real sshd hosts, PostgreSQL, Ansible, the abra double, s3rver), show its
# status, then upgrade Mastodon on alpha — interactively on a terminal (pick
# a version, read the notes and the plan, confirm), with --to 4.4.8 --yes otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
dir="${SANDBOX_DIR:-.sandbox}"
coopctl() { ./bin/coopctl -c "$dir/coopctl.yaml" "$@"; }
./bin/coopctl sandbox up --dir "$dir"
# The sandbox keeps its secrets in its own pass store (gpg key without passphrase), which its coopctl.yaml names.
secrets="$(realpath "$dir")/secrets"
coopctl status
if [ -t 0 ] && [ -t 1 ] && [ -z "${CI:-}" ]; then
  coopctl upgrade mastodon --env alpha
else
  coopctl upgrade mastodon --env alpha --to 4.4.8 --yes
fi
coopctl history mastodon --env alpha
coopctl status mastodon
echo
echo "The sandbox keeps running. Its secrets are in a pass store that $dir/coopctl.yaml names (secrets:)."
echo "For pass itself: export GNUPGHOME=$secrets/gnupg PASSWORD_STORE_DIR=$secrets/password-store"
echo "Try a failure: ./bin/coopctl sandbox fault --dir $dir alpha migration-fails"
echo "then: ./bin/coopctl -c $dir/coopctl.yaml upgrade mastodon --env alpha --to 4.5.0 --yes   (restored automatically)"
echo "Stop it with: ./bin/coopctl sandbox down --dir $dir"
