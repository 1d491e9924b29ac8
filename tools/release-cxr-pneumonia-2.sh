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
EV=models/cxr-pneumonia/evidence/2.0.0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RL="node bin/radiolens.js"

npm run build
# Packaged once; a re-run (e.g. after a measurement failed) measures the package already there.
[ -d models/cxr-pneumonia/2.0.0 ] || npx tsx tools/package-cxr-pneumonia-2.ts "$PNEU"

# The site test split of 1.2.0's splits.json as a labels CSV (absolute image paths), without
# the images the lung-field gate refuses (the recipe's record lists them): validate refuses to
# drop images silently, and a refused image is not analysed in use either (the radiologist
# reads it alone). The count is printed and kept in $EV/validation-site-test-split/excluded.json;
# the gate measures the refusals itself (its criterion: >= 95% of the images analysed).
/usr/bin/python3 - "$SITE" models/cxr-pneumonia/1.2.0/splits.json "$WORK/site-test.csv" "$PNEU/training-run.json" "$EV/validation-site-test-split" <<'PY'
import csv, json, os, sys
site, splits, out, record, evdir = sys.argv[1:]
test = set(json.load(open(splits))['images']['test'])
refused = set(json.load(open(record))['lung_fields']['site_implausible_images'])
rows = [r for r in csv.DictReader(open(os.path.join(site, 'labels.csv'))) if r['image'] in test]
excluded = sorted(r['image'] for r in rows if r['image'] in refused)
rows = [r for r in rows if r['image'] not in refused]
os.makedirs(evdir, exist_ok=True)
json.dump({'reason': 'refused by the lung-field gate (no plausible pair of lungs)', 'images': excluded},
          open(os.path.join(evdir, 'excluded.json'), 'w'), indent=1)
print(f'{len(excluded)} site test image(s) refused by the lung-field gate and left out: {excluded}')
with open(out, 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['image', 'pneumonia', 'patient_id'])
    for r in rows:
        w.writerow([os.path.join(site, r['image']), r['pneumonia'], r['patient_id']])
print(f'{len(rows)} site test images')
PY

# The whole site set likewise without the refused images, for localisation and robustness: a
# folder of our own whose labels.csv and boxes.csv name the same relative image paths.
mkdir -p "$WORK/site"
ln -s "$SITE/images" "$WORK/site/images"
cp "$SITE/boxes.csv" "$WORK/site/boxes.csv"
/usr/bin/python3 - "$SITE/labels.csv" "$WORK/site/labels.csv" "$PNEU/training-run.json" <<'PY'
import csv, json, sys
src, out, record = sys.argv[1:]
refused = set(json.load(open(record))['lung_fields']['site_implausible_images'])
with open(src, newline='') as f:
    reader = csv.DictReader(f)
    rows = [r for r in reader if r['image'] not in refused]
    fields = reader.fieldnames
with open(out, 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
print(f'{len(rows)} site images after leaving out {len(refused)} refused by the lung-field gate')
PY
SITE_MEASURED="$WORK/site"

$RL validate -m cxr-pneumonia@2.0.0 --labels "$WORK/site-test.csv" -o "$EV/validation-site-test-split"
$RL localisation -m cxr-pneumonia@2.0.0 --labels "$SITE_MEASURED/labels.csv" --boxes "$SITE_MEASURED/boxes.csv" \
  --finding Pneumonia --lungs cxr-lungs@1.0.0 -o "$EV/localisation-nih-boxes"
$RL localisation -m cxr-pneumonia@2.0.0 --labels "$SHARED/data/cxr-lung-masks/labels.csv" \
  --lung-masks "$SHARED/data/cxr-lung-masks/labels.csv" -o "$EV/localisation-lung-masks"
$RL robustness -m cxr-pneumonia@2.0.0 --labels "$SITE_MEASURED/labels.csv" \
  --splits models/cxr-pneumonia/1.2.0/splits.json --split test --view PA -o "$EV/robustness-site-test-split"

# The gate: the locked dataset is rebuilt byte for byte (tools/lock-site-test-dataset.ts).
VERSION=$(RADIOLENS_SHARED_DIR="$SHARED" npx tsx tools/lock-site-test-dataset.ts "$WORK/locked" | sed -n 's/^dataset .* version \([0-9a-f]*\)$/\1/p')
set +e
$RL models promote cxr-pneumonia@2.0.0 --test "$WORK/locked@$VERSION" --data "$WORK/node" --json > "$EV/gate.json"
GATE=$?
set -e
echo "gate exit status $GATE (0: promoted, 2.0.0 is now the default; otherwise refused — see $EV/gate.json)"

# Parity data with the classifier's tensors (lung-field input, features, score).
/usr/bin/python3 training/parity.py --lungs "$LUNGS/cxr-lungs.pt" --pneumonia "$PNEU/cxr-pneumonia-2.0.0.pt" \
  --record "$PNEU/training-run.json" --site "$SITE" --kermany "$SHARED/data/cxr-train-kermany" --out "$WORK/parity" > /dev/null
npx tsx tools/lung-parity-fixture.ts "$WORK/parity" test/fixtures/lung-parity
echo "done: models/cxr-pneumonia/2.0.0, $EV, test/fixtures/lung-parity; record the decision in docs/adr/0162"
