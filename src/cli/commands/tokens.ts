import { Option, type Command } from 'commander';
import { ROLES, type Role } from '../../domain/status.ts';
import { openStore } from '../../store/connect.ts';
import type { ApiToken } from '../../store/store.ts';
import type { CliContext } from '../context.ts';

interface CreateOptions {
  role: Role;
  name?: string;
  data?: string;
  database?: string;
}

type Created = { token: string; info: ApiToken };

export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program.command('tokens').description('API tokens');

  tokens
    .command('create')
    .description('create an API token; it is printed once (admin, or local with --data)')
    .addOption(
      new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory(),
    )
    .option('--name <name>', 'a name for the audit trail (default: the role and a timestamp)')
    .option('--data <dir>', 'write straight into this data folder’s database, without a server')
    .option('--database <url>', 'with --data: postgres://... instead of the SQLite file')
    .action(async (o: CreateOptions) => {
      const name = o.name ?? `${o.role}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const created = o.data
        ? await createLocally(ctx, o.role, name, ctx.resolvePath(o.data), o.database)
        : await ctx.client().post<Created>('/tokens', { role: o.role, name });
      ctx.show(
        created,
        (c) =>
          `token: ${c.token}\nname: ${c.info.name}\nrole: ${c.info.role}\n` +
          'it is shown only now; keep it somewhere safe\n',
      );
    });
}

async function createLocally(
  ctx: CliContext,
  role: Role,
  name: string,
  dataDir: string,
  databaseUrl: string | undefined,
): Promise<Created> {
  const url = databaseUrl ?? ctx.config().databaseUrl;
  const store = await openStore({ dataDir, ...(url ? { databaseUrl: url } : {}) });
  try {
    return await store.createToken({ role, name, now: new Date() });
  } finally {
    await store.close();
  }
}
