#!/usr/bin/env bash
# The whole suite: type check, unit tests, end-to-end tests against real sshd,
# PostgreSQL, Ansible and s3rver. Ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

typecheck_failed=0
npx tsc --noEmit -p . || { echo "type check failed"; typecheck_failed=1; }

results=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
vitest_rc=$?

node -e '
  const fs = require("fs");
  let r = { numPassedTests: 0, numFailedTests: 1, numPendingTests: 0 };
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  const failed = r.numFailedTests + Number(process.argv[2]) + (r.numFailedTestSuites || 0);
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results" "$typecheck_failed"
rm -f "$results"

[ "$vitest_rc" -eq 0 ] && [ "$typecheck_failed" -eq 0 ]
