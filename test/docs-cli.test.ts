import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.ts';
import { BASELINE_REASONS } from '../src/drift/detect.ts';
import { REPO } from './helpers/cli.ts';

const read = (file: string) => readFile(path.join(REPO, file), 'utf8');

/** The `command sub` pairs one row of the README's command table names. */
function commandsOf(row: string): string[] {
  const cell = /^\| `([^`]+)`/.exec(row)?.[1] ?? '';
  const [name = '', second = ''] = cell.split(' ');
  if (!/^[a-z]/.test(second)) return [name];
  return second.split('\\|').map((sub) => `${name} ${sub}`);
}

describe('the command line documentation', () => {
  it('names every reason `baseline list` can show', async () => {
    const cli = await read('docs/cli.md');
    const section = cli.slice(cli.indexOf('### `baseline list'), cli.indexOf('### `baseline show'));
    expect(section.length).toBeGreaterThan(100);
    for (const reason of BASELINE_REASONS) expect(section, reason).toContain(`\`${reason}\``);
  });

  it("lists each command once in the README's command table", async () => {
    const readme = await read('README.md');
    const start = readme.indexOf('| command | what it does |');
    const table = readme.slice(start).split('\n\n')[0] ?? '';
    const rows = table.split('\n').slice(2);
    expect(rows.length).toBeGreaterThan(10);
    const named = rows.flatMap(commandsOf);
    expect(named).toContain('tokens list');
    expect(named.filter((c, i) => named.indexOf(c) !== i)).toEqual([]);
  });

  it("names every command and subcommand of the CLI in the README's command table", async () => {
    const readme = await read('README.md');
    const start = readme.indexOf('| command | what it does |');
    const rows = (readme.slice(start).split('\n\n')[0] ?? '').split('\n').slice(2);
    const named = new Set(rows.flatMap(commandsOf));
    const program = buildProgram({
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: {},
      cwd: REPO,
    });
    const commands = program.commands.flatMap((command) => {
      const subs = command.commands.map((sub) => `${command.name()} ${sub.name()}`);
      return subs.length > 0 ? subs : [command.name()];
    });
    expect(commands.length).toBeGreaterThan(15);
    expect(commands.filter((command) => !named.has(command))).toEqual([]);
    expect([...named].filter((command) => !commands.includes(command))).toEqual([]);
  });
});
