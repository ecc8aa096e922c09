import type { Kysely, Transaction } from 'kysely';
import { conflict, invalidInput, notFound } from '../domain/errors.ts';
import { EXCLUSION_SCOPES, type Exclusion, type ExclusionScope } from '../domain/finding.ts';
import { isUniqueViolation } from './actions.ts';
import { appendEvent } from './events.ts';
import { allExclusions, findingEvent, matches, reportOf, splitTag } from './finding-changes.ts';
import { type ExclusionRow, toExclusion } from './finding-rows.ts';
import { newId } from './ids.ts';
import { escapeLike } from './list.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

/**
 * Exclusions keep findings out of the open list: by resource id, by a `key=value` tag, or
 * by account. Adding one moves the open findings it matches to `excluded`; removing one
 * opens them again unless another exclusion matches. Later reports are matched against
 * every exclusion as they are stored (`findings.ts`).
 */

type Trx = Transaction<Database>;
type Change = { actor: string; now: Date };

export interface NewExclusion {
  scope: ExclusionScope;
  value: string;
  reason: string;
}

export async function listExclusions(db: Kysely<Database>): Promise<Exclusion[]> {
  const rows = await db
    .selectFrom('finding_exclusions')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toExclusion);
}

const ACCOUNT = /^(\d{12}|[A-Za-z][\w.@:/-]*)$/;
const ARN = /^arn:aws[\w-]*:[\w-]+:[\w-]*:\d{0,12}:\S+$/;
/**
 * `k8s://<context>/<namespace>/<Kind>/<name>`, the namespace empty for cluster-scoped kinds;
 * a context may itself hold slashes (an EKS context is the cluster's ARN).
 */
const KUBE_ID = /^k8s:\/\/\S+\/[^\s/]*\/[^\s/]+\/[^\s/]+$/;
/** The same path without its scheme, which findings never show but people type. */
const KUBE_PATH = /^[^\s/:]+\/[^\s/:]*\/[^\s/:]+\/[^\s/:]+$/;

/** Refuses an exclusion that could never match, saying what each scope takes. */
function checkExclusion(input: NewExclusion): NewExclusion {
  if (!EXCLUSION_SCOPES.includes(input.scope)) {
    throw invalidInput(`exclusion scope must be one of ${EXCLUSION_SCOPES.join(', ')}`, {
      field: 'scope',
    });
  }
  const value = typeof input.value === 'string' ? input.value.trim() : '';
  if (!value) throw invalidInput('an exclusion needs a value', { field: 'value' });
  if (input.scope === 'tag' && !/^[^=]+=/.test(value)) {
    throw invalidInput(`a tag exclusion is key=value, e.g. env=sandbox; got "${value}"`, {
      field: 'value',
    });
  }
  if (input.scope === 'account' && !ACCOUNT.test(value)) {
    throw invalidInput(
      `an account exclusion is a 12-digit AWS account id or a kube context name; got "${value}"`,
      { field: 'value' },
    );
  }
  if (input.scope === 'resource' && !ARN.test(value) && !KUBE_ID.test(value)) {
    const hint = KUBE_PATH.test(value) ? `; did you mean "k8s://${value}"?` : '';
    throw invalidInput(
      'a resource exclusion is the resource id as findings show it: an ARN ' +
        '(arn:aws:s3:::bucket) or a Kubernetes object as k8s://<context>/<namespace>/<Kind>/' +
        '<name> (k8s://default/shop/Deployment/web; k8s://default//Node/node-1 for a ' +
        `cluster-scoped kind); got "${value}"${hint}`,
      { field: 'value' },
    );
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (!reason) throw invalidInput('an exclusion needs a reason', { field: 'reason' });
  return { scope: input.scope, value, reason };
}

export async function addExclusion(
  db: Kysely<Database>,
  input: NewExclusion,
  opts: Change,
): Promise<{ exclusion: Exclusion; excluded: number }> {
  const checked = checkExclusion(input);
  try {
    return await db.transaction().execute(async (trx) => {
      const row: ExclusionRow = {
        id: newId(),
        scope: checked.scope,
        value: checked.value,
        reason: checked.reason,
        created_by: opts.actor,
        created_at: opts.now.toISOString(),
      };
      await trx.insertInto('finding_exclusions').values(row).execute();
      const exclusion = toExclusion(row);
      const open = await candidates(trx, exclusion, 'open');
      const ids = open.filter((f) => matches(exclusion, reportOf(f))).map((f) => f.id);
      for (let i = 0; i < ids.length; i += 500) {
        await trx
          .updateTable('findings')
          .set({ status: 'excluded', exclusion_id: row.id, updated_at: row.created_at })
          .where('id', 'in', ids.slice(i, i + 500))
          .execute();
      }
      await exclusionEvent(trx, exclusion, opts, 'added', ids.length);
      return { exclusion, excluded: ids.length };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw conflict(`an exclusion of ${checked.scope} "${checked.value}" already exists`, {
      scope: checked.scope,
      value: checked.value,
    });
  }
}

/** The findings of `status` an exclusion may match, narrowed in SQL as far as it can be. */
async function candidates(trx: Trx, exclusion: Exclusion, status: string) {
  let q = trx
    .selectFrom('findings')
    .select(['id', 'resource_id', 'resource_account', 'resource_tags'])
    .where('status', '=', status);
  if (exclusion.scope === 'resource') q = q.where('resource_id', '=', exclusion.value);
  if (exclusion.scope === 'account') q = q.where('resource_account', '=', exclusion.value);
  if (exclusion.scope === 'tag') {
    const [key] = splitTag(exclusion.value);
    q = q.where('resource_tags', 'like', `%${escapeLike(JSON.stringify(key))}%`);
  }
  return q.execute();
}

export async function removeExclusion(
  db: Kysely<Database>,
  id: string,
  opts: Change,
): Promise<{ exclusion: Exclusion; reopened: number }> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('finding_exclusions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound(`no exclusion with id "${id}"; list exclusions to find its id`);
    await trx.deleteFrom('finding_exclusions').where('id', '=', id).execute();
    const others = await allExclusions(trx);
    const kept = await trx
      .selectFrom('findings')
      .selectAll()
      .where('exclusion_id', '=', id)
      .where('status', '=', 'excluded')
      .execute();
    const now = opts.now.toISOString();
    let reopened = 0;
    for (const finding of kept) {
      const other = others.find((e) => matches(e, reportOf(finding)));
      const set = other
        ? { exclusion_id: other.id, updated_at: now }
        : { status: 'open', exclusion_id: null, updated_at: now };
      await trx.updateTable('findings').set(set).where('id', '=', finding.id).execute();
      if (!other) {
        reopened += 1;
        await findingEvent(trx, finding, opts, 'reopened', `exclusion ${id} removed`);
      }
    }
    const exclusion = toExclusion(row);
    await exclusionEvent(trx, exclusion, opts, 'removed', reopened);
    return { exclusion, reopened };
  });
}

async function exclusionEvent(
  trx: Trx,
  exclusion: Exclusion,
  opts: Change,
  change: 'added' | 'removed',
  findings: number,
) {
  await appendEvent(trx, {
    action_id: null,
    at: opts.now.toISOString(),
    actor: opts.actor,
    type: 'exclusion',
    from_status: null,
    to_status: null,
    comment: exclusion.reason,
    data: dataText({
      exclusionId: exclusion.id,
      scope: exclusion.scope,
      value: exclusion.value,
      change,
      findings,
    }),
  });
}
