import { InvalidArgumentError, Option, type Command } from 'commander';
import { ROLES, type Role } from '../../domain/status.ts';
import { openStore } from '../../store/connect.ts';
import type { ApiToken, TokenInfo } from '../../store/store.ts';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';
import { parseMatching } from '../parse.ts';

interface CreateOptions {
  role: Role;
  name?: string;
  expiresIn?: number;
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
    .option(
      '--expires-in <duration>',
      'refuse the token after this long: minutes, hours or days, e.g. 90m, 12h, 30d',
      parseDuration,
    )
    .option('--data <dir>', 'write straight into the database of this server data folder')
    .option('--database <url>', 'write straight into this PostgreSQL database (postgres://...)')
    .action(async (o: CreateOptions) => {
      const name = o.name ?? `${o.role}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const created =
        o.data || o.database
          ? await createLocally(ctx, o, name)
          : await ctx
              .client({ name: '--name', role: '--role', expiresInMinutes: '--expires-in' })
              .post<Created>('/tokens', {
                role: o.role,
                name,
                ...(o.expiresIn === undefined ? {} : { expiresInMinutes: o.expiresIn }),
              });
      ctx.show(
        created,
        (c) =>
          `token: ${c.token}\nname: ${c.info.name}\nrole: ${c.info.role}\n` +
          (c.info.expiresAt ? `expires: ${c.info.expiresAt}\n` : '') +
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
          ['ID', 'NAME', 'ROLE', 'CREATED', 'CREATED BY', 'STATUS'],
          l.items.map((t) => [
            t.id,
            t.name,
            t.role,
            t.createdAt,
            t.createdBy,
            t.revokedAt
              ? `revoked ${t.revokedAt} by ${t.revokedBy ?? 'unknown'}`
              : t.expiresAt
                ? `${Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'expires'} ${t.expiresAt}`
                : 'active',
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
  const store = await openStore({
    dataDir,
    mustExist: true,
    secretKey: ctx.config().secretKey,
    ...(url ? { databaseUrl: url } : {}),
  });
  try {
    const now = new Date();
    const expiresAt =
      o.expiresIn === undefined
        ? null
        : new Date(now.getTime() + o.expiresIn * 60_000).toISOString();
    return await store.createToken({ role: o.role, name, now, actor: 'local:cli', expiresAt });
  } finally {
    await store.close();
  }
}

const UNIT_MINUTES = { m: 1, h: 60, d: 1440 } as const;

/** `90m`, `12h`, `30d` as minutes, up to ten years (the API's limit). */
function parseDuration(value: string): number {
  const match = /^(\d+)([mhd])$/.exec(value.trim());
  const minutes = match ? Number(match[1]) * UNIT_MINUTES[match[2] as 'm' | 'h' | 'd'] : NaN;
  if (!Number.isSafeInteger(minutes) || minutes < 1 || minutes > 5_256_000) {
    throw new InvalidArgumentError(
      `expected a duration such as 90m, 12h or 30d (at most 3650d), got "${value}".`,
    );
  }
  return minutes;
}
