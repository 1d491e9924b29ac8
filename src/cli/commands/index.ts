import type { Command } from 'commander';
import { analyzeCommand } from './analyze.js';
import { datasetCommand } from './dataset.js';
import { deidCommand } from './deid.js';
import { demoCommand } from './demo.js';
import { importImagesCommand } from './importImages.js';
import { modelsCommand } from './models.js';
import { statsCommand } from './stats.js';
import { validateCommand } from './validate.js';
import { finetuneCommand } from './finetune.js';
import { runsCommand } from './runs.js';
import { oodCommand } from './ood.js';
import { faithfulnessCommand } from './faithfulness.js';
import { localisationCommand } from './localisation.js';
import { robustnessCommand } from './robustness.js';
import { modelCardCommand, trainingSplitCommand } from './modelCard.js';
import { serveCommand } from './serve.js';
import { pullCommand } from './pull.js';
import { monitorCommand } from './monitor.js';
import { pilotCommand } from './pilot.js';
import { auditCommand } from './audit.js';
import { feedbackCommand } from './feedback.js';
import { usersCommand } from './users.js';
import { viewerCommand } from './viewer.js';

/** A command module adds one top-level command (with its sub-commands) to the program. */
export type CommandModule = (program: Command) => void;

/** Every command of the CLI, in the order `--help` lists them. */
export const commandModules: readonly CommandModule[] = [
  demoCommand,
  analyzeCommand,
  importImagesCommand,
  modelsCommand,
  validateCommand,
  statsCommand,
  deidCommand,
  datasetCommand,
  oodCommand,
  finetuneCommand,
  runsCommand,
  faithfulnessCommand,
  localisationCommand,
  robustnessCommand,
  modelCardCommand,
  trainingSplitCommand,
  serveCommand,
  pullCommand,
  pilotCommand,
  monitorCommand,
  auditCommand,
  feedbackCommand,
  usersCommand,
  viewerCommand,
];
