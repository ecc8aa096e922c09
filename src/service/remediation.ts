import type {
  Action,
  ActionSummary,
  AuditEvent,
  RequestedOp,
  ResourceRef,
} from '../domain/action.ts';
import { AppError, conflict, invalidInput, notFound } from '../domain/errors.ts';
import { checkRequest, checkTransition } from '../domain/lifecycle.ts';
import { type Waiting, waitingFor } from '../domain/maintenance.ts';
import { type FixOptions, parseFixOptionsPatch } from '../domain/fix-options.ts';
import type { RemediationSettings } from '../domain/settings.ts';
import { parseSettingsPatch, windowOpen } from '../domain/settings.ts';
import type { Severity, SourceKind, Status } from '../domain/status.ts';
import type { Catalog } from '../catalog/index.ts';
import type { ActionQuery, CreateResult, NewAction, Page, Store } from '../store/store.ts';
import type { FindingReport, FindingSummary } from '../domain/finding.ts';
import { createFindingService } from './findings.ts';
import {
  type ImportProgress,
  importFindings,
  importFindingsStream,
  type ImportResult,
  type StreamOptions,
} from './import.ts';
import { executeData, type ExecuteOptions, takeSecret } from './secret-delivery.ts';
import { fixFor, newAction } from './new-action.ts';

/** A finding named by hand: what `POST /actions` and `infraudit remediation suggest` take. */
export interface SuggestInput {
  /** Catalog fix id, e.g. `s3.enable-default-encryption`. */
  type: string;
  resource: Partial<ResourceRef> & Pick<ResourceRef, 'id' | 'type'>;
  kind?: SourceKind;
  findingId?: string;
  title?: string;
  origin?: string;
  checkId?: string;
  severity?: Severity;
}

export interface BulkInput {
  op: 'approve' | 'reject';
  ids: string[];
  comment?: string | null;
}

/** One action's outcome in a bulk request. */
export interface BulkResult {
  id: string;
  ok: boolean;
  /** The status it moved to; null when refused. */
  status: Status | null;
  error: { code: string; message: string } | null;
}

export interface RemediationServiceOptions {
  store: Store;
  catalog: Catalog;
  clock?: () => Date;
  /** Called after work for the engine was recorded; `serve` wires it to `engine.wake()`. */
  onWork?: () => void;
}

export type RemediationService = ReturnType<typeof createRemediationService>;

export const MAX_COMMENT_LENGTH = 10_000;

/**
 * What people can do with remediation actions, free of HTTP. Every change goes through
 * the lifecycle table for a precise refusal, then through the store's conditional
 * write, which still refuses a change that lost a race.
 */
export function createRemediationService(opts: RemediationServiceOptions) {
  const { store, catalog, onWork } = opts;
  const clock = opts.clock ?? (() => new Date());
  // A fix that hands out a secret waits for a person to execute it with their key.
  const secretTypes = catalog
    .all()
    .filter((f) => f.yieldsSecret)
    .map((f) => f.type);

  async function load(id: string): Promise<Action> {
    const action = await store.getAction(id);
    if (!action) {
      throw notFound(`no action with id "${id}"; list actions to find its id`);
    }
    return action;
  }

  /** Why a queued execution has not started: a closed maintenance window, or nothing. */
  async function waitingOf(action: Action): Promise<Waiting | null> {
    if (action.requestedOp !== 'execute') return null;
    const { maintenanceWindows } = await store.getSettings();
    if (maintenanceWindows.length === 0) return null;
    const tags = (await store.getResource(action.resource.id))?.tags ?? {};
    return waitingFor(maintenanceWindows, { account: action.resource.account, tags }, clock());
  }

  async function request(
    action: Action,
    op: RequestedOp,
    actor: string,
    comment?: string | null,
    data?: Record<string, unknown>,
  ): Promise<Action> {
    checkRequest(op, action.status, action.requestedOp);
    const updated = await store.request(action.id, op, {
      actor,
      now: clock(),
      comment: clean(comment),
      ...(data ? { data } : {}),
    });
    onWork?.();
    return updated;
  }

  return {
    async importFindings(
      text: string,
      actor: string,
      opts: { kubeContext?: string } = {},
    ): Promise<ImportResult> {
      const result = await importFindings(text, { store, catalog, actor, now: clock(), ...opts });
      if (result.counts.created > 0) onWork?.();
      return result;
    },

    /** Imports a findings file as it arrives; see `importFindingsStream`. */
    async importFindingsStream(
      source: AsyncIterable<Buffer | string>,
      actor: string,
      opts: StreamOptions & {
        kubeContext?: string;
        onProgress?: (progress: ImportProgress) => void;
      },
    ): Promise<ImportResult> {
      const { limitBytes, tooLarge, ...rest } = opts;
      const result = await importFindingsStream(
        source,
        { store, catalog, actor, now: clock(), ...rest },
        { limitBytes, tooLarge },
      );
      if (result.counts.created > 0) onWork?.();
      return result;
    },

    findings: createFindingService({ store, catalog, clock, ...(onWork ? { onWork } : {}) }),

    async suggest(input: SuggestInput, actor: string) {
      const fix = fixFor(catalog, input.type);
      const resource: ResourceRef = {
        provider: input.resource.provider ?? 'aws',
        // Left empty, the account, region and name are read from the ARN.
        account: input.resource.account ?? '',
        region: input.resource.region ?? '',
        type: input.resource.type,
        id: input.resource.id,
        name: input.resource.name ?? '',
      };
      const source = {
        kind: input.kind ?? 'recommendation',
        findingId: input.findingId ?? `manual:${fix.type}:${resource.id}`,
        title: input.title ?? '',
        origin: input.origin ?? 'manual',
        checkId: input.checkId ?? fix.type,
      };
      const planned = newAction(fix, resource, source, input.severity ?? 'medium');
      if (!source.title) planned.source = { ...planned.source, title: planned.title };
      // The finding named by hand is stored too, so this action, like every other, lists
      // the finding it answers; both are recorded in one transaction.
      const { actions } = await store.recordImport(
        [suggestedFinding(planned, fix.type)],
        [planned],
        { actor, now: clock() },
      );
      const result = actions[0] as CreateResult;
      if (result.created) onWork?.();
      return result;
    },

    async approve(id: string, actor: string, comment?: string | null): Promise<Action> {
      // The store checks the lifecycle and reads the auto-execute setting in the same
      // transaction as the approval, so the two cannot disagree.
      const updated = await store.transition(id, 'approve', {
        actor,
        now: clock(),
        comment: clean(comment),
        autoExecute: { unlessTypes: secretTypes },
      });
      if (updated.requestedOp) onWork?.();
      return updated;
    },

    /**
     * Approves or rejects many actions, each in its own audited transition, so one refusal
     * (a lost race, four-eyes, a closed action) leaves the others to go through. The
     * request as a whole is refused, changing nothing, when it names more actions than
     * `maxBulkActions` allows, names one twice, or rejects without a comment.
     */
    async bulk(input: BulkInput, actor: string): Promise<BulkResult[]> {
      const ids = input.ids;
      if (ids.length === 0) throw invalidInput('ids is empty; name at least one action');
      const { maxBulkActions } = await store.getSettings();
      if (ids.length > maxBulkActions) {
        throw invalidInput(
          `a bulk ${input.op} may name at most ${maxBulkActions} actions ` +
            `(remediation.maxBulkActions), got ${ids.length}; split it or raise the setting`,
          { limit: maxBulkActions, got: ids.length },
        );
      }
      const twice = ids.find((id, i) => ids.indexOf(id) !== i);
      if (twice) throw invalidInput(`action ${twice} is named twice; name each action once`);
      if (input.op === 'reject' && !clean(input.comment)) {
        throw invalidInput('a bulk reject needs a comment saying why');
      }
      const results: BulkResult[] = [];
      for (const id of ids) {
        try {
          const action =
            input.op === 'approve'
              ? await this.approve(id, actor, input.comment)
              : await this.reject(id, actor, input.comment ?? '');
          results.push({ id, ok: true, status: action.status, error: null });
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          results.push({
            id,
            ok: false,
            status: null,
            error: { code: error.code, message: error.message },
          });
        }
      }
      return results;
    },

    async reject(id: string, actor: string, comment: string): Promise<Action> {
      const action = await load(id);
      checkTransition('reject', action.status, comment);
      return store.transition(id, 'reject', { actor, now: clock(), comment: clean(comment) });
    },

    async execute(
      id: string,
      actor: string,
      comment?: string | null,
      opts: ExecuteOptions = {},
    ): Promise<Action> {
      const action = await load(id);
      if (action.status === 'suggested' && (await store.getSettings()).requireApproval) {
        throw conflict(
          `action ${id} is suggested and approval is required; approve it first, ` +
            'or turn requireApproval off in the remediation settings',
          { status: action.status, operation: 'execute' },
        );
      }
      const data = executeData(catalog.get(action.type), action, opts);
      return request(action, 'execute', actor, comment, data);
    },

    /** Runs a failed action again; refuses anything that has not failed. */
    async retry(
      id: string,
      actor: string,
      comment?: string | null,
      opts: ExecuteOptions = {},
    ): Promise<Action> {
      const action = await load(id);
      if (action.status !== 'failed') {
        throw conflict(
          `cannot retry action ${id}: it is ${action.status}, and only a failed action ` +
            'can be retried; use execute for an approved one',
          { status: action.status, operation: 'retry' },
        );
      }
      const data = executeData(catalog.get(action.type), action, opts);
      return request(action, 'execute', actor, comment, data);
    },

    /** The secret a fix created for `actor`'s execution, once; see secret-delivery.ts. */
    async takeSecret(id: string, actor: string) {
      return takeSecret(store, await load(id), actor, clock());
    },

    /**
     * Queues a rollback. With `force`, the engine restores the snapshot even over a change
     * someone made after the fix; the audit trail keeps the state it overwrote.
     */
    async rollback(
      id: string,
      actor: string,
      comment?: string | null,
      opts: { force?: boolean } = {},
    ): Promise<Action> {
      const action = await load(id);
      checkRequest('rollback', action.status, action.requestedOp);
      if (action.result?.kind === 'already_compliant') {
        throw conflict(
          `action ${id} changed nothing (the fix was already in place), so there is nothing ` +
            'to roll back',
          { result: action.result.kind },
        );
      }
      const now = clock();
      const deadline = action.rollbackDeadline ? new Date(action.rollbackDeadline) : null;
      if (!deadline || !windowOpen(now, deadline)) {
        throw new AppError(
          'window_closed',
          `the rollback window of action ${id} closed at ` +
            `${action.rollbackDeadline ?? 'completion'}` +
            `; it is now ${now.toISOString()}, so the change can only be undone by hand`,
          { rollbackDeadline: action.rollbackDeadline, now: now.toISOString() },
        );
      }
      if (opts.force && !clean(comment)) {
        throw invalidInput(
          'a forced rollback overwrites changes made after the fix; give a comment saying why',
        );
      }
      return request(action, 'rollback', actor, comment, opts.force ? { force: true } : undefined);
    },

    async comment(id: string, actor: string, text: string): Promise<AuditEvent> {
      await load(id);
      const body = clean(text);
      if (!body) throw invalidInput('a comment needs some text; got an empty comment');
      if (body.length > MAX_COMMENT_LENGTH) {
        throw invalidInput(
          `a comment may be at most ${MAX_COMMENT_LENGTH} characters, got ${body.length}`,
        );
      }
      return store.comment(id, { actor, now: clock(), text: body });
    },

    async get(id: string): Promise<{
      action: Action;
      events: AuditEvent[];
      waiting: Waiting | null;
      findings: FindingSummary[];
    }> {
      const action = await load(id);
      return {
        action,
        events: await store.events(id),
        waiting: await waitingOf(action),
        findings: await store.actionFindings(id),
      };
    },

    list(query: ActionQuery): Promise<Page<ActionSummary>> {
      return store.listActions(query);
    },

    counts(): Promise<Record<Status, number>> {
      return store.countByStatus();
    },

    getSettings(): Promise<RemediationSettings> {
      return store.getSettings();
    },

    async updateSettings(patch: unknown, actor: string): Promise<RemediationSettings> {
      return store.updateSettings(parseSettingsPatch(patch), { actor, now: clock() });
    },

    getFixOptions(): Promise<FixOptions> {
      return store.getFixOptions();
    },

    /** New plans use the new options; plans already made keep the ones they were made with. */
    async updateFixOptions(patch: unknown, actor: string): Promise<FixOptions> {
      return store.updateFixOptions(parseFixOptionsPatch(patch), { actor, now: clock() });
    },
  };
}

/** The stored finding behind a suggestion: open, on the action's resource, fixed by it. */
function suggestedFinding(planned: NewAction, fixType: string): FindingReport {
  return {
    kind: planned.source.kind,
    origin: planned.source.origin,
    key: planned.source.findingId,
    checkId: planned.source.checkId,
    title: planned.source.title,
    severity: planned.severity,
    resource: planned.resource,
    state: 'failed',
    remedy: { type: fixType, params: planned.params ?? {} },
  };
}

function clean(text: string | null | undefined): string | null {
  const trimmed = text?.trim();
  return trimmed ? trimmed : null;
}
