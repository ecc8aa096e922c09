import type { Catalog } from '../catalog/index.ts';
import type { ActionSummary, AuditEvent } from '../domain/action.ts';
import { AppError, conflict, invalidInput, notFound } from '../domain/errors.ts';
import type { Exclusion, Finding, FindingSummary } from '../domain/finding.ts';
import type { CreateResult, Page, Store } from '../store/store.ts';
import type { FindingCounts, FindingQuery, NewExclusion } from '../store/findings.ts';
import { fixFor, newAction } from './new-action.ts';

export interface FindingServiceOptions {
  store: Store;
  catalog: Catalog;
  clock: () => Date;
  onWork?: () => void;
}

export interface FindingDetail {
  finding: Finding;
  actions: ActionSummary[];
  events: AuditEvent[];
}

export const MAX_REASON_LENGTH = 2000;

export type FindingService = ReturnType<typeof createFindingService>;

/** Reading stored findings, acting on them, and the exclusions; free of HTTP. */
export function createFindingService(opts: FindingServiceOptions) {
  const { store, catalog, clock, onWork } = opts;

  async function load(id: string): Promise<Finding> {
    const finding = await store.getFinding(id);
    if (!finding) throw notFound(`no finding with id "${id}"; list findings to find its id`);
    return finding;
  }

  return {
    list(query: FindingQuery): Promise<Page<FindingSummary>> {
      return store.listFindings(query);
    },

    counts(query: FindingQuery): Promise<FindingCounts> {
      return store.countFindings(query);
    },

    async get(id: string): Promise<FindingDetail> {
      const finding = await load(id);
      const [actions, events] = await Promise.all([
        store.findingActions(id),
        store.findingEvents(id),
      ]);
      return { finding, actions, events };
    },

    /**
     * Creates the action the finding's remedy names, through the same path as every new
     * action; an action already open for that fix and resource is linked instead.
     */
    async remediate(id: string, actor: string): Promise<CreateResult> {
      const finding = await load(id);
      if (finding.status !== 'open' && finding.status !== 'excluded') {
        throw conflict(
          `finding ${id} is ${finding.status}; only an open or excluded finding can be ` +
            'remediated (reopen a dismissed one first)',
          { status: finding.status },
        );
      }
      if (!finding.remedy) {
        throw new AppError(
          'unsupported',
          `finding ${id} (${finding.checkId} on ${finding.resource.type}) has no catalog fix; ` +
            'it has to be fixed by hand, or dismissed with a reason',
          { checkId: finding.checkId, resourceType: finding.resource.type },
        );
      }
      const fix = fixFor(catalog, finding.remedy.type);
      const { tags: _tags, ...resource } = finding.resource;
      const planned = newAction(
        fix,
        resource,
        {
          kind: finding.kind,
          findingId: finding.key,
          title: finding.title,
          origin: finding.origin,
          checkId: finding.checkId,
        },
        finding.severity,
        finding.remedy.params,
      );
      const result = await store.createAction(planned, { actor, now: clock() });
      if (result.created) onWork?.();
      return result;
    },

    async dismiss(id: string, reason: string, actor: string): Promise<Finding> {
      return store.dismissFinding(id, { actor, now: clock(), reason: checkReason(reason) });
    },

    async reopen(id: string, actor: string): Promise<Finding> {
      return store.reopenFinding(id, { actor, now: clock() });
    },

    listExclusions(): Promise<Exclusion[]> {
      return store.listExclusions();
    },

    addExclusion(input: NewExclusion, actor: string) {
      return store.addExclusion(
        { ...input, reason: checkReason(input.reason) },
        {
          actor,
          now: clock(),
        },
      );
    },

    removeExclusion(id: string, actor: string) {
      return store.removeExclusion(id, { actor, now: clock() });
    },
  };
}

function checkReason(reason: string): string {
  const text = typeof reason === 'string' ? reason.trim() : '';
  if (!text) throw invalidInput('a reason is required; say why, for the audit trail');
  if (text.length > MAX_REASON_LENGTH) {
    throw invalidInput(
      `a reason may be at most ${MAX_REASON_LENGTH} characters, got ${text.length}`,
    );
  }
  return text;
}
