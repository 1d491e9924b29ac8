/**
 * The `radiolens` command line. Each command lives in its own module under commands/ and is
 * registered here by name, so adding a command never means editing another one.
 */
import { Command } from 'commander';
import { commandModules } from './commands/index.js';
import { RADIOLENS_VERSION } from '../foundation/core/index.js';

const program = new Command('radiolens')
  .description(
    'AI medical image analysis that radiologists can check: DICOM in, explained findings ' +
      '(DICOM SR, Secondary Capture, FHIR) out. A second reader, never a replacement.',
  )
  .version(RADIOLENS_VERSION)
  .showHelpAfterError();

for (const register of commandModules) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = process.exitCode || 2;
}
