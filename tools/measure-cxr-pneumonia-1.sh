#!/usr/bin/env bash
# Measure a republished cxr-pneumonia 1.x (the 1.2.0 network, e.g. 1.2.1 with ADR 0027's minMax
# window) the way 1.2.0 was measured, run the change-control gate against the active version
# (ADR 0162's gate, PCCP-CXR-PNEUMONIA-1 on the locked site test dataset), and write its card.
# Evidence goes to models/cxr-pneumonia/evidence/<version>/: validate on the fine-tuning run's
# site test split (runs/20261128T112214Z-adcf095b/test-labels.csv) and robustness on the same
# split of 1.2.0's splits.json. The evidence whose inputs are PNG/JPEG files, which no window
# rule touches (the Kermany internal test, OOD, faithfulness, localisation), is 1.2.0's (and
# 1.1.0's faithfulness, as 1.2.0's card has it): the weights are the same bytes. The version
# becomes the default only if the gate says so; the script never edits active.json itself.
#
# Usage: tools/measure-cxr-pneumonia-1.sh <version>   (with ../shared beside the checkout,
#   where the site test split's relative image paths point; a built CLI: npm run build)
set -euo pipefail
VERSION_1=${1:?usage: tools/measure-cxr-pneumonia-1.sh <version>}
EV=models/cxr-pneumonia/evidence
MODEL=cxr-pneumonia@$VERSION_1
RL="node bin/radiolens.js"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ -f "models/cxr-pneumonia/$VERSION_1/manifest.json" ] || { echo "no package models/cxr-pneumonia/$VERSION_1" >&2; exit 2; }
[ -d ../shared/data/cxr-site-nih ] || { echo "../shared/data/cxr-site-nih is missing (the split's image paths are relative to the checkout)" >&2; exit 2; }
mkdir -p "$EV/$VERSION_1"

$RL validate -m "$MODEL" --labels runs/20261128T112214Z-adcf095b/test-labels.csv -o "$WORK/validation"
cp "$WORK/validation/report.json" "$EV/$VERSION_1/validation-site-test-split.json"
$RL robustness -m "$MODEL" --labels ../shared/data/cxr-site-nih/labels.csv \
  --splits models/cxr-pneumonia/1.2.0/splits.json --split test -o "$EV/$VERSION_1/robustness-site-test-split"

# The gate: the locked dataset is rebuilt byte for byte (tools/lock-site-test-dataset.ts).
LOCKED=$(RADIOLENS_SHARED_DIR="$(realpath ../shared)" npx tsx tools/lock-site-test-dataset.ts "$WORK/locked" | sed -n 's/^dataset .* version \([0-9a-f]*\)$/\1/p')
set +e
$RL models promote "$MODEL" --test "$WORK/locked@$LOCKED" --data "$WORK/node" --json > "$EV/$VERSION_1/gate.json"
GATE=$?
set -e

# The card, as 1.2.0's (MODEL_CARD-1.2.0.md) was made, with this version's own validation and
# robustness; the training run is the base network's (1.0.0), as for every 1.x.
$RL model-card -m "$MODEL" --training-run models/cxr-pneumonia/1.0.0/training-run.json \
  --validation "NIH site test split (held out from fine-tuning)=$EV/$VERSION_1/validation-site-test-split.json" \
  --validation "Kermany internal test (paediatric)=$EV/1.2.0/validation-training-test.json" \
  --ood "$EV/ood-report.json" "$EV/1.2.0/ood-evaluation.json" \
  --faithfulness "NIH site test split, pneumonia positives=$EV/1.1.0/faithfulness-site-test-split.json" \
  --localisation "NIH pneumonia boxes=$EV/1.2.0/localisation-nih-boxes/localisation.json" \
  --localisation "lung-mask set=$EV/1.2.0/localisation-lung-masks/localisation.json" \
  --robustness "NIH site test split=$EV/$VERSION_1/robustness-site-test-split/robustness.json" \
  -o "models/cxr-pneumonia/MODEL_CARD-$VERSION_1.md"
echo "gate exit status $GATE (0: promoted, $VERSION_1 is now the default; otherwise refused — see $EV/$VERSION_1/gate.json)"
# MODEL_CARD.md is the active version's card (README, ADR 0082): once promoted, the previous
# one moves to MODEL_CARD-<its version>.md and this one to MODEL_CARD.md.
