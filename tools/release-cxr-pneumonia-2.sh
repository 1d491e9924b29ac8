#!/usr/bin/env bash
# One command for cxr-pneumonia 2.0.0 once training/pneumonia_v2.py has finished (issue #11
# item 3): package it with its evidence, measure it through the TypeScript pipeline (validate,
# localisation with the cxr-lungs lung fields, robustness), run the change-control gate against
# the active 1.2.0 on the locked site test dataset (paired DeLong on the same patients), and
# refresh the lung-field parity data with the classifier's tensors. 2.0.0 becomes the default
# only if the gate says so; the script never edits active.json itself.
#
# Usage: RADIOLENS_SHARED_DIR=/work/shared tools/release-cxr-pneumonia-2.sh [build/pneu] [build/lungs]
# Afterwards: record the decision and the gate's numbers in ADR 0162 (the gate's report is in
# models/cxr-pneumonia/evidence/2.0.0/gate.json) and commit models/ and test/fixtures/.
set -euo pipefail
PNEU=$(realpath "${1:-build/pneu}")
LUNGS=$(realpath "${2:-build/lungs}")
SHARED=$(realpath "${RADIOLENS_SHARED_DIR:-../shared}")
SITE="$SHARED/data/cxr-site-nih"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

npm run build
# Packaged once; a re-run (e.g. after a measurement failed) measures the package already there.
[ -d models/cxr-pneumonia/2.0.0 ] || npx tsx tools/package-cxr-pneumonia-2.ts "$PNEU"

# Validate, localisation, robustness and the gate (tools/measure-cxr-pneumonia-2.sh), with the
# lung-field gate's refusals taken from the recipe's record.
RADIOLENS_SHARED_DIR="$SHARED" tools/measure-cxr-pneumonia-2.sh 2.0.0 "$PNEU/training-run.json"

# Parity data with the classifier's tensors (lung-field input, features, score).
/usr/bin/python3 training/parity.py --lungs "$LUNGS/cxr-lungs.pt" --pneumonia "$PNEU/cxr-pneumonia-2.0.0.pt" \
  --record "$PNEU/training-run.json" --site "$SITE" --kermany "$SHARED/data/cxr-train-kermany" --out "$WORK/parity" > /dev/null
npx tsx tools/lung-parity-fixture.ts "$WORK/parity" test/fixtures/lung-parity
echo "done: models/cxr-pneumonia/2.0.0, models/cxr-pneumonia/evidence/2.0.0, test/fixtures/lung-parity; record the decision in docs/adr/0162"
