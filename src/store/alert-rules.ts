import type { Kysely } from 'kysely';
import type { AlertEvent, NewRule, RuleInfo } from '../alerts/model.ts';
import { invalidInput } from '../domain/errors.ts';
import { severityRank, type Severity } from '../domain/status.ts';
import { audit, createNamed, existing, type Actor } from './alert-changes.ts';
import type { AlertRuleRow } from './alert-rows.ts';
import { newId } from './ids.ts';
import type { Database } from './schema.ts';

function toRule(row: AlertRuleRow, channels: { id: string; name: string }[]): RuleInfo {
  const ids = JSON.parse(row.channel_ids) as string[];
  return {
    id: row.id,
    name: row.name,
    events: JSON.parse(row.events) as AlertEvent[],
    minSeverity: row.min_severity as Severity,
    channels: ids.map((id) => ({ id, name: channels.find((c) => c.id === id)?.name ?? '' })),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

export async function listRules(db: Kysely<Database>): Promise<RuleInfo[]> {
  const [rules, channels] = await Promise.all([
    db.selectFrom('alert_rules').selectAll().orderBy('name').execute(),
    db.selectFrom('alert_channels').select(['id', 'name']).execute(),
  ]);
  return rules.map((r) => toRule(r, channels));
}

export async function createRule(db: Kysely<Database>, input: NewRule, opts: Actor) {
  return createNamed(db, 'alert_rules', 'rule', input.name, async (trx) => {
    const channels = await trx.selectFrom('alert_channels').select(['id', 'name']).execute();
    const ids: string[] = [];
    for (const wanted of input.channels) {
      // An id wins over a name that happens to spell it, as everywhere a channel is named.
      const found =
        channels.find((c) => c.id === wanted) ?? channels.find((c) => c.name === wanted);
      if (!found) {
        throw invalidInput(
          `no alert channel "${wanted}" (by id or name); add it first or list the channels`,
          { channel: wanted },
        );
      }
      if (!ids.includes(found.id)) ids.push(found.id);
    }
    const row: AlertRuleRow = {
      id: newId(),
      name: input.name,
      events: JSON.stringify([...new Set(input.events)]),
      min_severity: input.minSeverity,
      min_severity_rank: severityRank(input.minSeverity),
      channel_ids: JSON.stringify(ids),
      created_at: opts.now.toISOString(),
      created_by: opts.actor,
    };
    await trx.insertInto('alert_rules').values(row).execute();
    const rule = toRule(row, channels);
    await audit(
      trx,
      'alert rule added',
      {
        ruleId: row.id,
        name: row.name,
        events: rule.events,
        minSeverity: rule.minSeverity,
        channels: ids,
      },
      opts,
    );
    return rule;
  });
}

export async function removeRule(db: Kysely<Database>, id: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await existing(
      trx,
      'alert_rules',
      id,
      `no alert rule with id "${id}"; list the rules to find its id`,
    );
    const channels = await trx.selectFrom('alert_channels').select(['id', 'name']).execute();
    await trx.deleteFrom('alert_rules').where('id', '=', id).execute();
    await audit(trx, 'alert rule removed', { ruleId: id, name: row.name }, opts);
    return toRule(row, channels);
  });
}
