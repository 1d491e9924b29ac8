#!/usr/bin/env bash
# Measure a packaged cxr-pneumonia 2.x through the TypeScript pipeline and run the change-control
# gate against the active version (ADR 0162): validate on the site test split, localisation with
# the cxr-lungs lung fields (NIH boxes and the lung-mask set), robustness on the site test split,
# what a shipped OOD flag means (ood evaluate, when the package ships ood.json), then
# `models promote` on the locked site test dataset. Evidence goes to
# models/cxr-pneumonia/evidence/<version>/, and the card made from it by radiolens model-card
# to models/cxr-pneumonia/MODEL_CARD-<version>.md (the recipe's own record has its card,
# MODEL_CARD-<version>-training.md, from tools/package-cxr-pneumonia-2.ts). The version becomes
# the default only if the gate says so; this script never edits active.json itself.
#
# Used by tools/release-cxr-pneumonia-2.sh for 2.0.0 and on its own for a republished 2.x with
# the same weights (2.0.1, tools/republish-with-min-max-window.ts), whose build folder is gone: the
# only thing taken from the training run is the list of images the lung-field gate refuses,
# which the record kept in the package holds as well.
#
# Usage: RADIOLENS_SHARED_DIR=/work/shared tools/measure-cxr-pneumonia-2.sh <version> [training-run.json]
#   training-run.json: default models/cxr-pneumonia/<version>/training-run.json. For a version
#   whose lung field is not the recipe's (2.0.2's edge guard, ADR 0165), pass instead what
#   tools/lung-field-refusals.ts writes: the same list, found by the TypeScript pipeline.
# Expects a built CLI (npm run build). Measuring 2.0.0 again would also write it a card
# (MODEL_CARD-2.0.0.md), which it has never had: the catalogue test says so.
set -euo pipefail
VERSION_2=${1:?usage: tools/measure-cxr-pneumonia-2.sh <version> [training-run.json]}
RECORD=$(realpath "${2:-models/cxr-pneumonia/$VERSION_2/training-run.json}")
SHARED=$(realpath "${RADIOLENS_SHARED_DIR:-../shared}")
SITE="$SHARED/data/cxr-site-nih"
EV=models/cxr-pneumonia/evidence/$VERSION_2
MODEL=cxr-pneumonia@$VERSION_2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RL="node bin/radiolens.js"
[ -f "models/cxr-pneumonia/$VERSION_2/manifest.json" ] || { echo "no package models/cxr-pneumonia/$VERSION_2" >&2; exit 2; }

# The site test split of 1.2.0's splits.json as a labels CSV (absolute image paths), without
# the images the lung-field gate refuses (the recipe's record lists them): validate refuses to
# drop images silently, and a refused image is not analysed in use either (the radiologist
# reads it alone). The count is printed and kept in $EV/validation-site-test-split/excluded.json;
# the gate measures the refusals itself (its criterion: >= 95% of the images analysed).
/usr/bin/python3 - "$SITE" models/cxr-pneumonia/1.2.0/splits.json "$WORK/site-test.csv" "$RECORD" "$EV/validation-site-test-split" <<'PY'
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
/usr/bin/python3 - "$SITE/labels.csv" "$WORK/site/labels.csv" "$RECORD" <<'PY'
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

$RL validate -m "$MODEL" --labels "$WORK/site-test.csv" -o "$EV/validation-site-test-split"
$RL localisation -m "$MODEL" --labels "$SITE_MEASURED/labels.csv" --boxes "$SITE_MEASURED/boxes.csv" \
  --finding Pneumonia --lungs cxr-lungs@1.0.0 -o "$EV/localisation-nih-boxes"
$RL localisation -m "$MODEL" --labels "$SHARED/data/cxr-lung-masks/labels.csv" \
  --lung-masks "$SHARED/data/cxr-lung-masks/labels.csv" -o "$EV/localisation-lung-masks"
$RL robustness -m "$MODEL" --labels "$SITE_MEASURED/labels.csv" \
  --splits models/cxr-pneumonia/1.2.0/splits.json --split test --view PA -o "$EV/robustness-site-test-split"

# The gate: the locked dataset is rebuilt byte for byte (tools/lock-site-test-dataset.ts).
LOCKED=$(RADIOLENS_SHARED_DIR="$SHARED" npx tsx tools/lock-site-test-dataset.ts "$WORK/locked" | sed -n 's/^dataset .* version \([0-9a-f]*\)$/\1/p')
set +e
$RL models promote "$MODEL" --test "$WORK/locked@$LOCKED" --data "$WORK/node" --json > "$EV/gate.json"
GATE=$?
set -e

# A package that ships OOD statistics (ADR 0167): what its flag means, measured as shipped —
# on the site test split (error prediction), paediatric radiographs and the non-chest corpus.
OOD_CARD=()
if python3 -c 'import json,sys; sys.exit(0 if "ood" in json.load(open(sys.argv[1])) else 1)' \
  "models/cxr-pneumonia/$VERSION_2/manifest.json"; then
  $RL ood evaluate -m "$MODEL" \
    --labels "NIH site test split=$SITE/labels.csv" --splits models/cxr-pneumonia/1.2.0/splits.json --split test \
    --paediatric "$SHARED/data/cxr-train-kermany/labels.csv" --non-chest "$SHARED/data/dicom-conformance" \
    --out "$EV/ood-evaluation.json"
  OOD_CARD=(--ood "$EV/ood-evaluation.json")
fi

# The card from the evidence above; pneumonia_v2.py's record is not train.py's, so without it.
$RL model-card -m "$MODEL" --no-training-run "${OOD_CARD[@]}" \
  --validation "NIH site test split (1.2.0 splits; the images the lung-field gate accepts)=$EV/validation-site-test-split/report.json" \
  --localisation "NIH pneumonia boxes=$EV/localisation-nih-boxes/localisation.json" \
  --localisation "lung-mask set=$EV/localisation-lung-masks/localisation.json" \
  --robustness "NIH site test split=$EV/robustness-site-test-split/robustness.json" \
  -o "models/cxr-pneumonia/MODEL_CARD-$VERSION_2.md"
echo "gate exit status $GATE (0: promoted, $VERSION_2 is now the default; otherwise refused — see $EV/gate.json)"
