#!/bin/bash
# The README's pictures (docs/images/*.png), taken from real boots in QEMU: the GRUB menu, the
# preboot's progress as it starts Debian's installer, and the rescue menu
# (bench/screenshots.bench.ts says how). About 3 minutes under TCG. Run it after a change that
# alters what those screens show, and commit the pictures with the change.
#
#   bash scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
npx vitest run --config bench/vitest.config.ts bench/screenshots.bench.ts
ls -l docs/images/
