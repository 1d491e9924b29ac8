/**
 * Test support for crash.test.ts, run as a separate process: stores synthetic instances one
 * after another and prints the SOP Instance UID of each as soon as storeInstance resolved
 * (the moment an SCP would acknowledge it), until it is killed. Arguments: <dataDir>.
 */
import { InstanceStore } from '../../../src/node/store/index.js';
import { syntheticInstance, syntheticUids } from '../store.js';

const dataDir = process.argv[2];
if (dataDir === undefined) {
  process.stderr.write('usage: storeLoop.child <dataDir>\n');
  process.exit(2);
}
const store = InstanceStore.open(dataDir);
for (let i = 0; ; i++) {
  await store.storeInstance(syntheticInstance({ study: 'crash', instance: `${i}`, size: 128 }), {
    source: `instance ${i}`,
  });
  process.stdout.write(`${syntheticUids('crash', `${i}`).sopInstanceUid}\n`);
}
