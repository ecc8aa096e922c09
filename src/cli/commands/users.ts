import { InvalidArgumentError, Option, type Command } from 'commander';
import { ROLES, type Role } from '../../domain/status.ts';
import type { User } from '../../store/users.ts';
import type { CliContext } from '../context.ts';
import { table } from '../output.ts';

type WithPassword = { user: User; oneTimePassword?: string };

/** The API's rule for usernames, checked here so a bad name never reaches a server. */
const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

function parseUsername(value: string): string {
  if (!USERNAME.test(value)) {
    throw new InvalidArgumentError(
      `expected up to 64 lowercase letters, digits and . _ @ - (starting with a letter or ` +
        `digit), got "${value}".`,
    );
  }
  return value;
}

const path = (username: string, what: string) => `/users/${encodeURIComponent(username)}/${what}`;

const withPassword = (r: WithPassword) =>
  `user: ${r.user.username}\nrole: ${r.user.role}\n` +
  (r.oneTimePassword
    ? `one-time password: ${r.oneTimePassword}\n` +
      'it is shown only now; the user must change it at first sign-in\n'
    : '');

export function registerUsers(program: Command, ctx: CliContext): void {
  const users = program.command('users').description('people who sign in to the console (admin)');

  users
    .command('create')
    .description('create a user with a one-time password, printed once (admin)')
    .argument('<username>', 'lowercase letters, digits and . _ @ -, up to 64', parseUsername)
    .addOption(
      new Option('--role <role>', 'what the user may do').choices(ROLES).makeOptionMandatory(),
    )
    .option('--display-name <name>', 'the name the console shows (default: the username)')
    .action(async (username: string, o: { role: Role; displayName?: string }) => {
      const created = await ctx
        .client({ username: '<username>', role: '--role', displayName: '--display-name' })
        .post<WithPassword>('/users', {
          username,
          role: o.role,
          ...(o.displayName === undefined ? {} : { displayName: o.displayName }),
        });
      ctx.show(created, withPassword);
    });

  users
    .command('list')
    .description('list the users, disabled ones included; never a password (admin)')
    .action(async () => {
      const listed = await ctx.client().get<{ items: User[] }>('/users');
      ctx.show(listed, (l) =>
        table(
          ['USERNAME', 'NAME', 'ROLE', 'LAST SIGN-IN', 'STATUS'],
          l.items.map((u) => [
            u.username,
            u.displayName,
            u.role,
            u.lastLoginAt ?? 'never',
            u.disabledAt
              ? `disabled ${u.disabledAt} by ${u.disabledBy ?? 'unknown'}`
              : u.mustChangePassword
                ? 'active, must change password'
                : 'active',
          ]),
        ),
      );
    });

  for (const [name, description] of [
    ['disable', 'disable a user: sign-in is refused and their sessions end (admin)'],
    ['enable', 'enable a disabled user again (admin)'],
  ] as const) {
    users
      .command(name)
      .description(description)
      .argument('<username>', 'as `users list` shows it', parseUsername)
      .action(async (username: string) => {
        const result = await ctx.client().post<{ user: User }>(path(username, name), {});
        ctx.show(result, (r) => `user ${r.user.username} ${name}d\n`);
      });
  }

  users
    .command('reset-password')
    .description('give a user a new one-time password, printed once; their sessions end (admin)')
    .argument('<username>', 'as `users list` shows it', parseUsername)
    .action(async (username: string) => {
      const result = await ctx.client().post<WithPassword>(path(username, 'password'), {});
      ctx.show(result, withPassword);
    });
}
