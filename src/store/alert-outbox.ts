import type { Insertable, Selectable, Transaction } from 'kysely';
import { alertEventOf, findingSeverity } from '../alerts/model.ts';
import { severityRank, type Severity } from '../domain/status.ts';
import type { AlertDeliveryRow, AlertRuleRow } from './alert-rows.ts';
import type { NewEvent } from './events.ts';
import { newId } from './ids.ts';
import type { Database, EventRow } from './schema.ts';

/**
 * The rules, read once per transaction: a transaction that records a thousand events
 * (an import creating actions) reads them once. Rule changes write the rule before their
 * own event, so no transaction reads the rules before changing them.
 */
function rulesOf(trx: Transaction<Database>): Promise<Selectable<AlertRuleRow>[]> {
  let rules = rulesRead.get(trx);
  if (!rules) {
    rules = trx.selectFrom('alert_rules').selectAll().execute();
    rulesRead.set(trx, rules);
  }
  return rules;
}

const rulesRead = new WeakMap<Transaction<Database>, Promise<Selectable<AlertRuleRow>[]>>();

/**
 * The outbox: called by `appendEvent` inside the transaction of every event, before it
 * takes the audit chain's head, so these reads never lengthen the time every writer waits
 * for that lock; the step it returns queues the deliveries once the event is stored.
 * Events that raise no alert cost nothing; the others cost one read of the (small) rules
 * table per transaction, and the action's severity only when some rule names the event.
 * Rules are read in each transaction rather than cached across them, so a rule added on
 * one replica holds on all of them at once.
 */
export async function alertsFor(
  trx: Transaction<Database>,
  event: NewEvent,
): Promise<((stored: Selectable<EventRow>) => Promise<void>) | undefined> {
  const kind = alertEventOf({
    type: event.type,
    from_status: event.from_status ?? null,
    to_status: event.to_status ?? null,
    data: event.data ?? null,
  });
  if (!kind) return;
  const rules = await rulesOf(trx);
  const named = rules.filter((rule) => (JSON.parse(rule.events) as string[]).includes(kind));
  if (named.length === 0) return;

  let severity: Severity | undefined;
  if (kind === 'drift_detected') severity = findingSeverity(event.data ?? null);
  else if (event.action_id) {
    const action = await trx
      .selectFrom('actions')
      .select('severity')
      .where('id', '=', event.action_id)
      .executeTakeFirst();
    severity = action?.severity as Severity | undefined;
  }
  if (!severity) return;
  const rank = severityRank(severity);

  // Two rules naming one channel send it one message, not two.
  const byChannel = new Map<string, string>();
  for (const rule of named) {
    if (rank < rule.min_severity_rank) continue;
    for (const channelId of JSON.parse(rule.channel_ids) as string[]) {
      if (!byChannel.has(channelId)) byChannel.set(channelId, rule.id);
    }
  }
  if (byChannel.size === 0) return;
  const channels = await trx
    .selectFrom('alert_channels')
    .select(['id', 'name'])
    .where('id', 'in', [...byChannel.keys()])
    .execute();
  if (channels.length === 0) return;
  return async (stored) => {
    await trx
      .insertInto('alert_deliveries')
      .values(
        channels.map((channel): Insertable<AlertDeliveryRow> => ({
          id: newId(),
          event_id: Number(stored.id),
          event: kind,
          severity,
          action_id: stored.action_id,
          channel_id: channel.id,
          channel_name: channel.name,
          rule_id: byChannel.get(channel.id)!,
          status: 'pending',
          attempts: 0,
          next_attempt_at: stored.at,
          lease_owner: null,
          lease_expires_at: null,
          created_at: stored.at,
          delivered_at: null,
          last_error: null,
        })),
      )
      .execute();
  };
}
