import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Action, SealedSecret } from '../domain/action.ts';
import { open, recipientKeyPair } from '../secrets/sealed-box.ts';
import { ApiError } from './client.ts';
import { CommandFailed, UsageError, type CliContext } from './context.ts';
import { formatActionLine } from './output.ts';
import { waitForSettled } from './wait.ts';

export interface ExecuteFlags {
  comment?: string;
  wait?: boolean;
  timeout: number;
  secretFile?: string;
}

const actionPath = (id: string, op = '') =>
  `/actions/${encodeURIComponent(id)}${op ? `/${op}` : ''}`;

/**
 * Execute or retry. With --wait the command makes a key pair in memory and sends the
 * public half, so a fix that creates a secret (a new access key's) can seal it to this
 * invocation; once the action settles the secret is collected, opened and shown once
 * (or written to --secret-file). Nobody else can open it, this command included once it
 * has exited, so without --wait such fixes are refused before anything is queued.
 */
export async function executeAndCollect(
  ctx: CliContext,
  id: string,
  op: 'execute' | 'retry',
  flags: ExecuteFlags,
): Promise<void> {
  const file = flags.secretFile ? ctx.resolvePath(flags.secretFile) : undefined;
  if (file && !flags.wait) {
    throw new UsageError(
      '--secret-file needs --wait: the secret can only be collected while this command waits',
    );
  }
  if (file && existsSync(file)) {
    throw new UsageError(
      `--secret-file ${file} already exists; name a new file so no secret is overwritten`,
    );
  }
  const pair = flags.wait ? recipientKeyPair() : undefined;
  const body = {
    ...(flags.comment === undefined ? {} : { comment: flags.comment }),
    ...(pair ? { recipientKey: pair.publicKey } : {}),
  };

  let queued: Action;
  try {
    ({ action: queued } = await ctx.client().post<{ action: Action }>(actionPath(id, op), body));
  } catch (error) {
    if (!pair && error instanceof ApiError && error.details?.needs === 'recipientKey') {
      throw new UsageError(
        `action ${id} runs ${String(error.details.type)}, which creates a secret that only the ` +
          `invocation that requested the execution can collect; nothing was queued. Run ` +
          `\`infraudit remediation ${op} ${id} --wait\` (add --secret-file PATH to write it ` +
          'to a file)',
      );
    }
    throw error;
  }
  if (!flags.wait || !pair) {
    ctx.show({ action: queued }, (r) => formatActionLine(r.action));
    return;
  }

  const action = await waitForSettled(ctx.client(), id, {
    timeoutMs: flags.timeout * 1000,
    onProgress: (a) =>
      ctx.note(`action ${a.id}: ${a.status}${a.requestedOp ? ` (${a.requestedOp} queued)` : ''}`),
  });
  let secret: { name: string; value: string } | undefined;
  if (action.sealedSecret) {
    const { secret: sealed } = await ctx
      .client()
      .post<{ secret: SealedSecret }>(actionPath(id, 'secret'));
    secret = { name: sealed.name, value: open(sealed, pair.privateKey) };
  }

  const written = secret && file ? await writeSecret(ctx, file, secret.value) : false;
  ctx.show(
    {
      action,
      ...(secret ? { secret: written ? { name: secret.name, file } : secret } : {}),
    },
    (r) => formatActionLine(r.action) + (secret && !written ? formatSecret(secret) : ''),
  );
  if (secret && written) {
    ctx.note(`${secret.name} was written to ${file} (mode 0600); it is kept nowhere else`);
  }
  if (secret && action.status !== 'completed') {
    ctx.note('the fix created this key before the action failed; a retry keeps it');
  }
  if (!secret && queued.requestData?.recipientKey && action.status === 'completed') {
    ctx.note(
      'no new secret came with this run: the key in place was created by an earlier attempt ' +
        'of this action, whose secret went to that attempt',
    );
  }
  if (action.status !== 'completed') {
    const reason = action.error ? `: ${action.error.message}` : '';
    ctx.io.stderr.write(`error: action ${id} ended ${action.status}, not completed${reason}\n`);
    throw new CommandFailed();
  }
}

function formatSecret(secret: { name: string; value: string }): string {
  return (
    `\n${secret.name}:\n  ${secret.value}\n` +
    'Shown once and stored nowhere by InfraAudit: keep it now.\n'
  );
}

/** A new file only the user can read; false (the secret then goes to stdout) if it fails. */
async function writeSecret(ctx: CliContext, file: string, value: string): Promise<boolean> {
  try {
    await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (error) {
    ctx.note(`could not write ${file} (${(error as Error).message}); the secret follows on stdout`);
    return false;
  }
}
