#!/bin/bash
# Runs the whole test suite (unit, integration with the real tools, QEMU boots) and ends with
# one summary line "tests: N passed, N failed, N skipped". Console logs and build logs of every
# boot stay in test-output/.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
# Type-check the tests as well as src/ (vitest strips types without checking them).
if ! npx tsc -p tsconfig.test.json; then
  echo "tests: 0 passed, 1 failed"
  exit 1
fi
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/results.json "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-output/results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || echo "tests: 0 passed, 1 failed"
exit $status
