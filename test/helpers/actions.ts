import type { Action } from '../../src/domain/action.ts';
import type { Severity } from '../../src/domain/status.ts';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/engine.ts';
import type { NewAction, Store } from '../../src/store/store.ts';
import type { TestDatabase } from './databases.ts';
import { silentLog } from './world.ts';

let counter = 0;

/** A new S3 action for a bucket; unique per call unless a name is given. */
export function newAction(
  opts: { bucket?: string; type?: string; severity?: Severity; findingId?: string } = {},
): NewAction {
  counter += 1;
  const bucket = opts.bucket ?? `bucket-${process.pid}-${counter}`;
  return {
    type: opts.type ?? 's3.enable-default-encryption',
    title: `Enable default encryption on bucket ${bucket}`,
    resource: {
      provider: 'aws',
      account: '111122223333',
      region: 'us-east-1',
      type: 'AwsS3Bucket',
      id: `arn:aws:s3:::${bucket}`,
      name: bucket,
    },
    source: {
      kind: 'vulnerability',
      findingId: opts.findingId ?? `finding-${counter}`,
      title: 'S3 bucket has no default encryption',
      origin: 'prowler',
      checkId: 's3_bucket_default_encryption',
    },
    severity: opts.severity ?? 'medium',
    risk: 'low',
    plan: {
      before: null,
      after: {},
      calls: [],
      rollbackCalls: [],
      reversibility: { level: 'full' },
      warnings: [],
      refusal: null,
      input: null,
      alreadyCompliant: false,
      error: null,
    },
  };
}

/** An engine that polls and renews its lease quickly, as the end-to-end tests want. */
export function quickEngine(
  opts: Pick<EngineOptions, 'store' | 'clients' | 'catalog'> & Partial<EngineOptions>,
): Engine {
  return createEngine({ log: silentLog, pollMs: 20, leaseMs: 2_000, ...opts });
}

/** Polls the store until the action meets `done`; fails with its status after `ms`. */
export async function actionWhen(
  store: Store,
  id: string,
  done: (action: Action) => boolean,
  opts: { ms?: number; everyMs?: number } = {},
): Promise<Action> {
  const ms = opts.ms ?? 10_000;
  const deadline = Date.now() + ms;
  for (;;) {
    const action = (await store.getAction(id))!;
    if (done(action)) return action;
    if (Date.now() > deadline) {
      throw new Error(`action ${id} still ${action.status} after ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 20));
  }
}

/** Stops the engine first, then closes the rest in order; skips what never started. */
export async function stopEngineSuite(parts: {
  worker?: Engine;
  app?: { close(): Promise<unknown> };
  world?: { close(): Promise<void> };
  store?: Store;
  database?: TestDatabase;
}): Promise<void> {
  await parts.worker?.stop();
  await parts.app?.close();
  await parts.world?.close();
  await parts.store?.close();
  await parts.database?.drop();
}
