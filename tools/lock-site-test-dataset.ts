/**
 * Build the locked site test dataset that cxr-pneumonia's change-control plan names
 * (PCCP-CXR-PNEUMONIA-1, ADR 0035): the test split of ../shared/data/cxr-site-nih (the split in
 * models/cxr-pneumonia/1.2.0/splits.json) imported as DICOM CR, de-identified with a public
 * demonstration secret and labelled with the truth and a subgroup. Rebuilding gives the same
 * version, which is how the tests reproduce it; the version printed is the one the plan locks.
 *
 * Usage: (RADIOLENS_SHARED_DIR=<shared> when not beside the checkout) npx tsx tools/lock-site-test-dataset.ts <dataset dir>
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildLockedSiteTestDataset } from '../test/support/siteData.js';

const target = resolve(process.argv[2] ?? 'cxr-site-nih-test');
const work = await mkdtemp(join(tmpdir(), 'radiolens-lock-'));
try {
  const created = await buildLockedSiteTestDataset(target, work);
  const labels = created.manifest.instances.map((i) => i.labels);
  process.stdout.write(
    `dataset ${created.manifest.name} version ${created.version}\n` +
      `  ${created.manifest.instances.length} instances (${labels.filter((l) => l['pneumonia'] === '1').length} pneumonia), ` +
      `${created.manifest.excluded.quarantined} quarantined, ${created.manifest.excluded.failed} failed\n` +
      `  --test ${target}@${created.version}\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
