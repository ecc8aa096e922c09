import type { AlertEvent, AlertFacts } from './model.ts';

const HEADLINES: Record<AlertEvent, string> = {
  suggested: 'Remediation suggested',
  pending_approval: 'Remediation awaits approval',
  approved: 'Remediation approved',
  executed: 'Remediation executed',
  failed: 'Remediation failed',
  rolled_back: 'Remediation rolled back',
  window_closing: 'Rollback window closing',
  drift_detected: 'Drift detected',
};

export interface AlertMessage {
  subject: string;
  /** Plain text, one fact a line. */
  text: string;
  /** The console page of the action; null for events of no action. */
  link: string | null;
  /** The structured form a generic webhook receives. */
  payload: Record<string, unknown>;
}

/**
 * The message for one alert: what happened, to which resource, by whom, and where to
 * look. Made only of the fields named here, never of an event's free-form data, so no
 * plan, snapshot or secret can reach a channel.
 */
export function buildMessage(
  facts: AlertFacts,
  opts: { publicUrl: string; deliveryId: string },
): AlertMessage {
  const { action, finding } = facts;
  const base = opts.publicUrl.replace(/\/+$/, '');
  let link: string | null = null;
  if (action) link = `${base}/actions/${encodeURIComponent(action.id)}`;
  else if (finding) link = `${base}/findings/${encodeURIComponent(finding.id)}`;
  const headline = HEADLINES[facts.event];
  const about = action?.title ?? finding?.title ?? 'a finding';
  const subject = `[${facts.severity.toUpperCase()}] ${headline}: ${about}`;

  const lines = [subject];
  const resource = action?.resource ?? finding?.resource;
  if (resource) {
    const where = resource.region ? `, ${resource.region}` : '';
    lines.push(`Resource: ${resource.id} (${resource.type}${where})`);
  }
  if (finding) {
    lines.push(`Check: ${finding.origin} ${finding.checkId}`);
    if (finding.driftType) lines.push(`Drift: ${finding.driftType}`);
  }
  if (facts.fromStatus || facts.toStatus) {
    lines.push(
      `Status: ${facts.fromStatus ?? '-'} -> ${facts.toStatus ?? facts.fromStatus ?? '-'}`,
    );
  }
  if (facts.event === 'window_closing' && action?.rollbackDeadline) {
    lines.push(`Rollback possible until: ${action.rollbackDeadline}`);
  }
  lines.push(`Severity: ${facts.severity}`);
  lines.push(`By: ${facts.actor} at ${facts.at}`);
  if (facts.comment) lines.push(`Comment: ${facts.comment}`);
  if (link) lines.push(`Open: ${link}`);

  const payload: Record<string, unknown> = {
    id: opts.deliveryId,
    event: facts.event,
    severity: facts.severity,
    at: facts.at,
    actor: facts.actor,
    comment: facts.comment,
    fromStatus: facts.fromStatus,
    toStatus: facts.toStatus,
    auditEventId: facts.eventId,
    summary: subject,
    link,
    action,
  };
  if (finding) payload.finding = finding;
  return { subject, text: lines.join('\n'), link, payload };
}

/** Slack's incoming-webhook body: the text for notifications, a block for the layout. */
export function slackBody(message: AlertMessage): Record<string, unknown> {
  const [first, ...rest] = message.text.split('\n');
  return {
    text: message.text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: (first ?? '').slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: rest.map(escapeSlack).join('\n') || ' ' } },
    ],
  };
}

/** Slack reads &, < and > as markup. */
const escapeSlack = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
