/**
 * Test support for fhirSender.test.ts, run as a separate process: opens the outbox in
 * <dataDir> and runs one delivery pass, printing "sending" first. The test SIGKILLs it while
 * the send is in flight. Arguments: <dataDir>.
 */
import { openNodeDatabase } from '../../../src/node/store/index.js';
import { Outbox, OutboxDeliverer } from '../../../src/node/delivery/index.js';

const dataDir = process.argv[2];
if (dataDir === undefined) {
  process.stderr.write('usage: deliverOnce.child <dataDir>\n');
  process.exit(2);
}
const outbox = new Outbox(openNodeDatabase(dataDir), { claimMs: 60_000 });
process.stdout.write('sending\n');
await new OutboxDeliverer(outbox, { callingAeTitle: 'RADIOLENS' }).runOnce();
process.stdout.write('done\n');
