#!/usr/bin/env bash
# The whole suite: static checks (format, lint, lines of at most 120 characters, unused exports), type
# check, unit tests, end-to-end tests against real sshd, PostgreSQL, Ansible and s3rver.
#   scripts/test.sh          everything (what CI runs)
#   scripts/test.sh --fast   the static checks, the type check and test/unit only: in-process tests (no sshd,
#                            PostgreSQL or playbook runs), well under a minute
# Further arguments go to vitest. Ends with a plain "N passed, N failed" line: a static check that passes
# counts as one passed, each of its violations as one failed. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

tests=()
if [ "${1:-}" = "--fast" ]; then
  shift
  tests=(test/unit)
  # in-process tests use neither dist/ nor the test world's build
  export COOPCTL_TEST_NO_BUILD=1
fi

# vitest's globalSetup (test/helpers/globalSetup.ts) builds dist/ and the test world when the tests need them
./scripts/setup.sh --no-build || { echo "0 passed, 1 failed"; exit 1; }

checks_passed=0
checks_failed=0
# static_check NAME COMMAND...: runs COMMAND; on failure prints its output and counts one failure per
# line that names a file (biome's concise reporter: "× file: ...", "! file:line:col: rule"; our scripts:
# "file:line: ...").
static_check() {
  local name=$1 out rc n
  shift
  out=$(mktemp)
  "$@" >"$out" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    checks_passed=$((checks_passed + 1))
    echo "✓ $name"
  else
    n=$(grep -cE '^([×!i] [^ ]+: |[^ ]+:[0-9]+: )' "$out")
    [ "$n" -gt 0 ] || n=1
    checks_failed=$((checks_failed + n))
    cat "$out"
    echo "✗ $name: $n"
  fi
  rm -f "$out"
}
static_check "format (npm run format:check; npm run format fixes)" \
  npx biome format --reporter=concise --max-diagnostics=none
static_check "lint (npm run lint)" npx biome lint --error-on-warnings --reporter=concise --max-diagnostics=none
static_check "lines over 120 characters in src/ (npm run lint:lines)" node scripts/check-style.mjs
static_check "unused exports in src/ (npm run lint:exports)" node scripts/check-exports.mjs
shell_programs() { find src scripts -name '*.sh' -print0 | xargs -0 shellcheck --format=gcc; }
static_check "shellcheck of the host programs and scripts (src/**/*.sh, scripts/*.sh)" shell_programs
static_check "ansible-lint of the playbook (offline, .ansible-lint: profile shared)" \
  ansible-lint --nocolor -q -p playbooks/mastodon.yml playbooks/schedule.yml

typecheck_failed=0
npx tsc --noEmit -p . || { echo "type check failed"; typecheck_failed=1; }

results=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile="$results" ${tests[@]+"${tests[@]}"} "$@"
vitest_rc=$?

# shellcheck disable=SC2016 # JavaScript, not shell: its ${...} are template literals
node -e '
  const fs = require("fs");
  let r = { numPassedTests: 0, numFailedTests: 1, numPendingTests: 0 };
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  const passed = r.numPassedTests + Number(process.argv[3]);
  // A test file that fails without a failing test (it did not load, or a hook threw) counts as one failure.
  const broken = (r.testResults || []).filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"));
  const failed = r.numFailedTests + Number(process.argv[2]) + broken.length;
  console.log(`${passed} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results" "$((typecheck_failed + checks_failed))" "$checks_passed"
rm -f "$results"

[ "$vitest_rc" -eq 0 ] && [ "$typecheck_failed" -eq 0 ] && [ "$checks_failed" -eq 0 ]
