import type { Command } from 'commander';

/** A command module adds one top-level command (with its sub-commands) to the program. */
export type CommandModule = (program: Command) => void;

/** Every command of the CLI, in the order `--help` lists them. */
export const commandModules: readonly CommandModule[] = [];
