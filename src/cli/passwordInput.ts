/**
 * Reading a password on the command line (ADR 0174): typed at a terminal without echo (and
 * asked twice), or read from standard input for scripts (`--password-stdin`). Never a flag:
 * flags show in `ps` and in shell history.
 */
import { RadiolensError } from '../foundation/core/index.js';

/** Standard input up to its end, without the one trailing newline `echo` adds. */
export async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** One line typed at the terminal with echo off. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error === undefined) resolve(typed);
      else reject(error);
    };
    const onData = (data: string): void => {
      for (const char of data) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003' || char === '\u0004') {
          return done(new RadiolensError('E_BAD_INPUT', 'password entry cancelled'));
        }
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}

/** A new password: from stdin when asked, else typed twice at the terminal. */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return passwordFromStdin();
  if (!process.stdin.isTTY) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'no terminal to type the password at — pipe it in with --password-stdin',
    );
  }
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat it: ');
  if (first !== second) throw new RadiolensError('E_BAD_INPUT', 'the two passwords differ');
  return first;
}
