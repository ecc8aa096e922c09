import { Option, type Command } from 'commander';
import { ROLES, type Role } from '../../domain/status.ts';
import { openStore } from '../../store/connect.ts';
import type { ApiToken, TokenInfo } from '../../store/store.ts';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';
import { parseMatching } from '../parse.ts';

interface CreateOptions {
  role: Role;
  name?: string;
  data?: string;
  database?: string;
}

type Created = { token: string; info: ApiToken };

/** The API's rule for token names, checked here so a bad name never reaches a server. */
const NAME = /^[A-Za-z0-9_.@-]{1,100}$/;

export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program.command('tokens').description('API tokens');

  tokens
    .command('create')
    .description(
      'create an API token; it is printed once (admin, or straight in the database with ' +
        '--data or --database)',
    )
    .addOption(
      new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory(),
    )
    .option(
      '--name <name>',
      'a unique name for the audit trail (default: the role and a timestamp)',
      parseMatching(NAME, 'up to 100 letters, digits and _ . @ -'),
    )
    .option('--data <dir>', 'write straight into the database of this server data folder')
    .option('--database <url>', 'write straight into this PostgreSQL database (postgres://...)')
    .action(async (o: CreateOptions) => {
      const name = o.name ?? `${o.role}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const created =
        o.data || o.database
          ? await createLocally(ctx, o, name)
          : await ctx
              .client({ name: '--name', role: '--role' })
              .post<Created>('/tokens', { role: o.role, name });
      ctx.show(
        created,
        (c) =>
          `token: ${c.token}\nname: ${c.info.name}\nrole: ${c.info.role}\n` +
          'it is shown only now; keep it somewhere safe\n',
      );
    });

  tokens
    .command('list')
    .description('list the tokens, revoked ones included; never the tokens themselves (admin)')
    .action(async () => {
      const listed = await ctx.client().get<{ items: TokenInfo[] }>('/tokens');
      ctx.show(listed, (l) =>
        table(
          ['ID', 'NAME', 'ROLE', 'CREATED', 'STATUS'],
          l.items.map((t) => [
            t.id,
            t.name,
            t.role,
            t.createdAt,
            t.revokedAt ? `revoked ${t.revokedAt} by ${t.revokedBy ?? 'unknown'}` : 'active',
          ]),
        ),
      );
    });

  tokens
    .command('revoke')
    .description('revoke a token, which is refused from then on (admin); not the last admin one')
    .argument('<id>', 'token id, as `tokens list` shows it')
    .action(async (id: string) => {
      const revoked = await ctx
        .client()
        .delete<{ token: TokenInfo }>(`/tokens/${encodeURIComponent(id)}`);
      ctx.show(revoked, (r) => `token ${r.token.id} (${r.token.name}) revoked\n`);
    });
}

/**
 * Writes the token straight into the server's database: the way back in when the admin
 * token is lost. The database must exist already; a new one would serve no server.
 */
async function createLocally(ctx: CliContext, o: CreateOptions, name: string): Promise<Created> {
  const dataDir = o.data ? ctx.resolvePath(o.data) : ctx.config().dataDir;
  // With --data alone, DATABASE_URL still picks the engine, as it does for `serve`.
  const url = o.database ?? (o.data ? ctx.config().databaseUrl : undefined);
  const store = await openStore({ dataDir, mustExist: true, ...(url ? { databaseUrl: url } : {}) });
  try {
    return await store.createToken({ role: o.role, name, now: new Date(), actor: 'local:cli' });
  } finally {
    await store.close();
  }
}
