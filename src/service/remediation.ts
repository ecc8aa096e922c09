import type {
  Action,
  ActionSummary,
  AuditEvent,
  RequestedOp,
  ResourceRef,
} from '../domain/action.ts';
import { AppError, conflict, invalidInput, notFound } from '../domain/errors.ts';
import { checkRequest, checkTransition } from '../domain/lifecycle.ts';
import { type FixOptions, parseFixOptionsPatch } from '../domain/fix-options.ts';
import type { RemediationSettings } from '../domain/settings.ts';
import { parseSettingsPatch, windowOpen } from '../domain/settings.ts';
import type { Severity, SourceKind, Status } from '../domain/status.ts';
import type { Catalog } from '../catalog/index.ts';
import type { ActionQuery, Page, Store } from '../store/store.ts';
import { importFindings, type ImportResult } from './import.ts';
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
      const result = await store.createAction(planned, { actor, now: clock() });
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

    async get(id: string): Promise<{ action: Action; events: AuditEvent[] }> {
      const action = await load(id);
      return { action, events: await store.events(id) };
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

function clean(text: string | null | undefined): string | null {
  const trimmed = text?.trim();
  return trimmed ? trimmed : null;
}
