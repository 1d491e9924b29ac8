/**
 * The lung-field gate (ADR 0161) on real images from the shared data: adult frontal chest
 * radiographs pass, a non-chest radiograph and other non-chest images are refused with coded
 * reasons, and what the gate lets through the header check refuses. The shared data has no
 * lateral chest radiograph (cxr-lung-masks/SOURCE.md: lateral views were left out); a chest
 * turned by 90° stands in for "not a frontal chest" and is measured here, a real lateral view
 * is not. Skipped without the shared data; the product never needs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, sharedDir } from '../../../test/support/index.js';
import { readDicomFile } from '../../foundation/dicom/index.js';
import { readGreyImage, type GreyImage } from '../imaging/index.js';
import {
  checkIntendedUse,
  checkLungFieldUse,
  InferencePool,
  loadModelPackage,
  type ModelManifest,
} from '../models/index.js';
import { LungSegmenter } from './lungSegmenter.js';

const DATA = join(sharedDir, 'data');
const CONFORMANCE = join(DATA, 'dicom-conformance', 'pydicom-data');
const haveData = existsSync(join(DATA, 'cxr-site-nih')) && existsSync(CONFORMANCE);
const skip = haveData ? false : `no shared data under ${DATA}`;

/** A lung-field classifier's manifest: 1.2.0's, with the input region 2.x declares. */
function lungFieldClassifier(): ModelManifest {
  const manifest = JSON.parse(
    readFileSync(join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'manifest.json'), 'utf8'),
  ) as ModelManifest;
  manifest.input.region = { kind: 'lungField', model: { id: 'cxr-lungs', version: '1.0.0' } };
  return manifest;
}

async function withSegmenter(run: (segmenter: LungSegmenter) => Promise<void>): Promise<void> {
  const pool = new InferencePool({ threads: 1 });
  const pkg = await loadModelPackage(join(repoRoot, 'models', 'cxr-lungs', '1.0.0'));
  const segmenter = await LungSegmenter.open(pkg, { pool });
  try {
    await run(segmenter);
  } finally {
    await segmenter.dispose();
    await pool.close();
  }
}

test(
  'adult frontal chest radiographs have a plausible lung field: the site test split and a MONOCHROME1 CR',
  { skip },
  async () => {
    await withSegmenter(async (segmenter) => {
      const splits = JSON.parse(
        readFileSync(join(repoRoot, 'models', 'cxr-pneumonia', '1.2.0', 'splits.json'), 'utf8'),
      ) as { images: { test: string[] } };
      const refused: string[] = [];
      for (const image of splits.images.test) {
        const { grey } = await readGreyImage(join(DATA, 'cxr-site-nih', image));
        const [lungs] = await segmenter.segment([grey]);
        if (!lungs!.field.plausible)
          refused.push(`${image}: ${lungs!.field.reasons.map((r) => r.text).join('; ')}`);
      }
      // Measured with cxr-lungs@1.0.0: 117 of 118 pass; the one refused is an unsure right lung
      // (confidence 0.846 < 0.85). More than two refused would be a different gate.
      assert.ok(
        refused.length <= 2,
        `refused ${refused.length} of ${splits.images.test.length}:\n${refused.join('\n')}`,
      );
      // A real chest CR, MONOCHROME1 (inverted grey) and lossy JPEG 2000: the photometric step
      // must have turned it the right way round for the lungs to be found.
      const { grey } = await readGreyImage(join(CONFORMANCE, 'RG1_J2KI.dcm'));
      const [chest] = await segmenter.segment([grey]);
      assert.equal(chest!.field.plausible, true, JSON.stringify(chest!.field.reasons));
      assert.deepEqual(checkLungFieldUse(lungFieldClassifier(), chest!.field), { ok: true });
    });
  },
);

test(
  'non-chest images are refused by the lung-field gate with coded reasons',
  { skip },
  async () => {
    await withSegmenter(async (segmenter) => {
      const manifest = lungFieldClassifier();
      const nih = (await readGreyImage(join(DATA, 'cxr-site-nih', 'images', '00001371_001.png')))
        .grey;
      const rotated: GreyImage = (() => {
        const { width: w, height: h } = nih;
        const data = new Float32Array(w * h);
        for (let i = 0; i < w; i++)
          for (let j = 0; j < h; j++) data[i * h + j] = nih.data[j * w + (w - 1 - i)]!;
        return { width: h, height: w, data };
      })();
      let state = 12345;
      const noise: GreyImage = {
        width: 512,
        height: 512,
        data: Float32Array.from({ length: 512 * 512 }, () => {
          state = (state * 1103515245 + 12345) % 2147483648;
          return state / 2147483648;
        }),
      };
      const cases: Array<[string, GreyImage]> = [
        // A CR radiograph of the tibia: the header's modality passes, only its body part (or this gate) refuses it.
        [
          'CR of the distal tibia (RG3_J2KR)',
          (await readGreyImage(join(CONFORMANCE, 'RG3_J2KR.dcm'))).grey,
        ],
        [
          'MR of the shoulder (MR2_UNCI)',
          (await readGreyImage(join(CONFORMANCE, 'MR2_UNCI.dcm'))).grey,
        ],
        [
          'NM whole-body bone scan (JPEG-LL)',
          (await readGreyImage(join(CONFORMANCE, 'JPEG-LL.dcm'))).grey,
        ],
        ['ultrasound (US1_UNCI)', (await readGreyImage(join(CONFORMANCE, 'US1_UNCI.dcm'))).grey],
        ['a chest radiograph turned by 90°', rotated],
        ['uniform noise', noise],
        ['uniform grey', { width: 256, height: 256, data: new Float32Array(256 * 256).fill(0.5) }],
      ];
      for (const [name, grey] of cases) {
        const [lungs] = await segmenter.segment([grey]);
        const use = checkLungFieldUse(manifest, lungs!.field);
        assert.equal(use.ok, false, `${name} passed the lung-field gate`);
        if (!use.ok) {
          assert.ok(use.codes.length > 0 && use.codes.every((c) => c.startsWith('LUNG_')), name);
          assert.match(
            use.reasons[0]!,
            /no plausible pair of lungs .* check it is a frontal \(PA\/AP\) chest radiograph/,
          );
        }
      }
    });
  },
);

test(
  'what the lung-field gate lets through among non-chest images, the header check refuses',
  { skip },
  async () => {
    // Measured: an axial CT slice, a 64² MR and a 16-bit ultrasound have two dark regions that
    // the lung model takes for lungs. Their Modality (CT, MR, US) is outside the intended use.
    const manifest = lungFieldClassifier();
    for (const file of ['693_UNCI.dcm', 'emri_small.dcm', 'gdcm-US-ALOKA-16.dcm']) {
      const instance = await readDicomFile(join(CONFORMANCE, file));
      const header = checkIntendedUse(manifest, instance.dataset);
      assert.equal(header.ok, false, `${file} passed the header check`);
      if (!header.ok)
        assert.ok(
          header.reasons.some((r) => r.startsWith('modality ')),
          file,
        );
    }
  },
);
