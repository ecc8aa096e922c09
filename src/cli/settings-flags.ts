import { InvalidArgumentError, type Command } from 'commander';
import { UsageError, type CliContext } from './context.ts';
import { formatSettings } from './output.ts';

/** One flag of a settings `set` command: commander turns it into the camel-case key beside it. */
export type SettingFlag<K extends string> = [
  flag: string,
  key: K,
  help: string,
  parse: (value: string) => unknown,
];

const flagName = (flag: string) => flag.split(' ')[0] ?? flag;

/**
 * Makes `set` a settings `set` command: each flag parsed, then checked as the server checks
 * it, before any request; one PUT to `path` with the flags given; none given exits 2.
 */
export function settingsSetter<K extends string>(
  set: Command,
  ctx: CliContext,
  path: string,
  flags: readonly SettingFlag<K>[],
  problem: (key: K, value: unknown) => string | null,
): void {
  for (const [flag, key, help, parse] of flags) {
    set.option(flag, help, (value: string) => {
      const parsed = parse(value);
      const wrong = problem(key, parsed);
      if (wrong) throw new InvalidArgumentError(`expected ${wrong}, got "${value}".`);
      return parsed;
    });
  }
  set.action(async (o: Record<string, unknown>) => {
    const patch: Record<string, unknown> = {};
    for (const [, key] of flags) if (o[key] !== undefined) patch[key] = o[key];
    if (Object.keys(patch).length === 0) {
      const names = flags.map(([flag]) => flagName(flag)).join(', ');
      throw new UsageError(`nothing to change; give one of ${names}`);
    }
    const names = Object.fromEntries(flags.map(([flag, key]) => [key, flagName(flag)]));
    ctx.show(await ctx.client(names).put<object>(path, patch), formatSettings);
  });
}
