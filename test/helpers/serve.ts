import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BIN, REPO } from './cli.ts';

export interface ServeProcess {
  child: ChildProcess;
  /** The `name: url` lines serve printed, by name. */
  endpoints: Record<string, string>;
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `infraudit serve ...`; ready once it printed `admin token:`, its last line. */
export const startServe = (args: string[], env: Record<string, string> = {}) =>
  startCommand(['serve', ...args], 'admin token', env);

/**
 * Starts a long-running `node bin/infraudit.js ...` and resolves once it has printed
 * the `name: value` line called `ready`.
 */
export function startCommand(
  args: string[],
  ready: string,
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, INFRAUDIT_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  return new Promise((resolve, reject) => {
    const endpoints: Record<string, string> = {};
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string) => reject(new Error(`${args[0]} ${why}; stderr:\n${stderr}`));
    child.on('exit', (code) => fail(`exited with ${code} before it was ready`));
    lines.on('line', (line) => {
      const match = /^([a-z ]+): (.+)$/.exec(line);
      if (match) endpoints[match[1]!] = match[2]!;
      if (match?.[1] === ready) {
        resolve({
          child,
          endpoints,
          stderr: () => stderr,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}
