import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/program.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin/infraudit.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with its own streams and environment. */
export async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd = REPO,
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
  });
  return { code, stdout, stderr };
}

/**
 * Runs `node bin/infraudit.js ...` as a child process and waits for it to end. With
 * `closedStdout`, the reading end of its stdout is closed at once, as `| head -c 0` does;
 * `input` is written to its standard input.
 */
export function cliProcess(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { closedStdout?: boolean; input?: Buffer } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (opts.input) child.stdin!.end(opts.input);
    const out = child.stdout!;
    if (opts.closedStdout) out.destroy();
    let stdout = '';
    let stderr = '';
    out.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
