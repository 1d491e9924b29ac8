/**
 * `radiolens viewer fetch [--data <dir>] [--from <tarball>] [--dir <dir>] [--force]`: install
 * the pinned OHIF Viewer build that `radiolens serve` serves at /ohif/ (ADR 0195).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULTS } from '../../node/service/index.js';
import {
  OHIF_APP_INTEGRITY,
  OHIF_APP_PACKAGE,
  OHIF_APP_VERSION,
  defaultOhifDir,
  installOhifApp,
} from '../../node/viewer/index.js';
import type { CommandModule } from './index.js';

export const viewerCommand: CommandModule = (program: Command) => {
  const viewer = program
    .command('viewer')
    .description('The OHIF Viewer that "radiolens serve" serves at /ohif/');
  viewer
    .command('fetch')
    .description(
      `Install ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION}'s built app (npm registry, or a tarball copied in), ` +
        'checked against its pinned integrity, into <data>/viewer/ (or --dir)',
    )
    .option('--data <dir>', "the node's data directory (default ./radiolens-data)")
    .option(
      '--from <tarball>',
      `a copy of the ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION} tarball (npm pack on a machine with registry access), for a site without it`,
    )
    .option(
      '--dir <dir>',
      'install into this folder instead (then name it as viewer.ohifDir in the node configuration)',
    )
    .option('--force', 'replace an installed app')
    .addHelpText(
      'after',
      `\nThe tarball must have integrity ${OHIF_APP_INTEGRITY}; any other is refused.`,
    )
    .action(async (opts: { data?: string; from?: string; dir?: string; force?: boolean }) => {
      const dist =
        opts.dir !== undefined
          ? resolve(opts.dir)
          : defaultOhifDir(resolve(opts.data ?? DEFAULTS.dataDir));
      const installed = await installOhifApp({
        dist,
        ...(opts.from === undefined ? {} : { from: opts.from }),
        ...(opts.force === true ? { force: true } : {}),
      });
      process.stdout.write(
        installed.outcome === 'present'
          ? `already installed: ${OHIF_APP_PACKAGE}@${installed.version} in ${installed.dist} (--force replaces it)\n`
          : `installed ${OHIF_APP_PACKAGE}@${installed.version} (${installed.integrity}) from ${installed.source} into ${installed.dist}\n`,
      );
    });
};
