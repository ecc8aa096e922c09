import type { Catalog } from '../catalog/index.ts';
import type { Fix } from '../catalog/fix.ts';
import { AppError } from '../domain/errors.ts';
import type { NormalizedFinding } from '../domain/finding.ts';
import { parseFindingsFile } from '../findings/import.ts';
import { fixRequestFor } from '../findings/mapping.ts';
import type { NewAction, Store } from '../store/store.ts';
import { newAction } from './new-action.ts';

export interface ImportCounts {
  /** Findings in the file. */
  total: number;
  failed: number;
  passed: number;
  manual: number;
  /** Findings whose status the file did not state clearly. */
  other: number;
  /** Failed findings the catalog has a fix for. */
  supported: number;
  /** Failed findings with no fix in the catalog. */
  unsupported: number;
  /** Supported findings that opened a new action. */
  created: number;
  /** Supported findings linked to an action already open for the same problem. */
  linked: number;
}

export interface ImportResult {
  format: string;
  counts: ImportCounts;
  actions: { id: string; type: string; created: boolean }[];
}

export interface ImportDeps {
  store: Store;
  catalog: Catalog;
  now: Date;
  actor: string;
  requireApproval: boolean;
}

/**
 * Turns a findings file into actions. The whole file is parsed and mapped before the
 * first write, so a file that is malformed anywhere records nothing.
 */
export async function importFindings(text: string, deps: ImportDeps): Promise<ImportResult> {
  const { format, findings } = parseFindingsFile(text);
  const counts: ImportCounts = {
    total: findings.length,
    failed: 0,
    passed: 0,
    manual: 0,
    other: 0,
    supported: 0,
    unsupported: 0,
    created: 0,
    linked: 0,
  };
  const planned: NewAction[] = [];
  for (const [index, finding] of findings.entries()) {
    countStatus(counts, finding);
    if (finding.status !== 'failed') continue;
    const supported = supportedFix(deps.catalog, finding);
    if (!supported) {
      counts.unsupported += 1;
      continue;
    }
    counts.supported += 1;
    const { fix, params } = supported;
    try {
      planned.push(newAction(fix, finding.resource, finding.source, finding.severity, params));
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // One unusable finding refuses the whole file, so an import is all or nothing.
      throw new AppError(
        error.code,
        `finding ${index + 1} (${finding.source.findingId}): ${error.message}`,
        { ...error.details, finding: index + 1, findingId: finding.source.findingId },
      );
    }
  }

  const actions: ImportResult['actions'] = [];
  for (const input of planned) {
    const { action, created } = await deps.store.createAction(input, {
      actor: deps.actor,
      now: deps.now,
      requireApproval: deps.requireApproval,
    });
    if (created) counts.created += 1;
    else counts.linked += 1;
    actions.push({ id: action.id, type: action.type, created });
  }
  return { format, counts, actions };
}

function countStatus(counts: ImportCounts, finding: NormalizedFinding): void {
  if (finding.status === 'failed') counts.failed += 1;
  else if (finding.status === 'passed') counts.passed += 1;
  else if (finding.status === 'manual') counts.manual += 1;
  else counts.other += 1;
}

/** A fix that applies to this finding's resource, if the catalog has one. */
function supportedFix(
  catalog: Catalog,
  finding: NormalizedFinding,
): { fix: Fix; params: Record<string, unknown> } | undefined {
  const request = fixRequestFor(finding);
  const fix = request ? catalog.get(request.type) : undefined;
  if (!fix || !request) return undefined;
  const accepts = fix.resourceType === finding.resource.type ||
    fix.alsoAccepts?.includes(finding.resource.type);
  return accepts ? { fix, params: request.params } : undefined;
}
