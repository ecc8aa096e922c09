import { AppError } from '../../domain/errors.ts';
import type { FixContext } from '../fix.ts';
import { rdsSdk } from '../sdk.ts';

/**
 * How the fixes wait for RDS: the SDK's waiters poll with jittered exponential backoff
 * from `minDelay` to `maxDelay` seconds. Restoring a large database takes hours, so the
 * limit is generous; a wait that runs out fails the action with its progress recorded,
 * and a retry picks the wait up again.
 */
export const RDS_WAIT = Object.freeze({ minDelay: 1, maxDelay: 60, maxWaitTime: 4 * 60 * 60 });

type Sdk = Awaited<ReturnType<typeof rdsSdk>>;
type Waiter = Sdk['waitUntilDBInstanceAvailable'];

const WAITERS = {
  'instance available': {
    wait: 'waitUntilDBInstanceAvailable',
    input: (id: string) => ({ DBInstanceIdentifier: id }),
    what: (id: string) => `DB instance ${id} to be available`,
  },
  'instance deleted': {
    wait: 'waitUntilDBInstanceDeleted',
    input: (id: string) => ({ DBInstanceIdentifier: id }),
    what: (id: string) => `DB instance ${id} to be deleted`,
  },
  'snapshot available': {
    wait: 'waitUntilDBSnapshotAvailable',
    input: (id: string) => ({ DBSnapshotIdentifier: id }),
    what: (id: string) => `DB snapshot ${id} to be available`,
  },
  'snapshot deleted': {
    wait: 'waitUntilDBSnapshotDeleted',
    input: (id: string) => ({ DBSnapshotIdentifier: id }),
    what: (id: string) => `DB snapshot ${id} to be deleted`,
  },
} as const;

export type WaitFor = keyof typeof WAITERS;

/** Waits through the SDK until the resource reaches the state, or says why it did not. */
export async function waitFor(
  ctx: FixContext,
  region: string,
  state: WaitFor,
  id: string,
): Promise<void> {
  const waiter = WAITERS[state];
  ctx.log.debug({ id, state }, 'waiting for rds');
  try {
    const wait = (await rdsSdk())[waiter.wait] as Waiter;
    await wait({ client: ctx.clients.rds(region), ...RDS_WAIT }, waiter.input(id) as never);
  } catch (err) {
    const result = waiterResult(err);
    const reason = describeReason(result.reason);
    throw new AppError(
      'conflict',
      `waiting for ${waiter.what(id)} ended ${result.state ?? 'in an error'}` +
        `${reason ? ` (${reason})` : ''}; what was done so far is recorded on the action, ` +
        'so retrying resumes from there',
      { id, state },
      { cause: err },
    );
  }
}

/** The SDK's waiter states its outcome as JSON in the error message. */
function waiterResult(err: unknown): { state?: string; reason?: unknown } {
  try {
    const parsed: unknown = JSON.parse((err as Error).message);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return { reason: (err as Error).message };
  }
}

/** The last status the waiter saw, or the error it got, in a few words. */
function describeReason(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (typeof reason !== 'object' || reason === null) return '';
  const r = reason as {
    DBInstances?: { DBInstanceStatus?: string }[];
    DBSnapshots?: { Status?: string }[];
    name?: string;
    message?: string;
  };
  const status = r.DBInstances?.[0]?.DBInstanceStatus ?? r.DBSnapshots?.[0]?.Status;
  if (status) return `last status ${status}`;
  if (r.name) return `${r.name}: ${r.message ?? ''}`.trim();
  return '';
}
