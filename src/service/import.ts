import type { Catalog } from '../catalog/index.ts';
import type { Fix } from '../catalog/fix.ts';
import { AppError } from '../domain/errors.ts';
import type { NormalizedFinding } from '../domain/finding.ts';
import { parseFindingsFile } from '../findings/import.ts';
import { fixRequestFor } from '../findings/mapping.ts';
import { type FindingsSummary, summarize } from '../findings/summary.ts';
import type { NewAction, Store } from '../store/store.ts';
import { newAction } from './new-action.ts';

/** What an import found, and what it did with the failed findings the catalog can fix. */
export interface ImportCounts extends FindingsSummary {
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
  /** The kubeconfig context Kubernetes findings belong to; `default` when not given. */
  kubeContext?: string;
}

/**
 * Turns a findings file into actions. The whole file is parsed and mapped before the
 * first write, so a file that is malformed anywhere records nothing.
 */
export async function importFindings(text: string, deps: ImportDeps): Promise<ImportResult> {
  const { format, findings } = parseFindingsFile(
    text,
    deps.kubeContext ? { kubeContext: deps.kubeContext } : undefined,
  );
  const fixes = new Map<NormalizedFinding, SupportedFix>();
  const summary = summarize(findings, (finding) => {
    const supported = supportedFix(deps.catalog, finding);
    if (supported) fixes.set(finding, supported);
    return supported?.fix.type;
  });

  const planned: NewAction[] = [];
  for (const [index, finding] of findings.entries()) {
    const supported = fixes.get(finding);
    if (finding.status !== 'failed' || !supported) continue;
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

  const results = await deps.store.createActions(planned, {
    actor: deps.actor,
    now: deps.now,
  });
  const created = results.filter((r) => r.created).length;
  return {
    format,
    counts: { ...summary, created, linked: results.length - created },
    actions: results.map(({ action, created }) => ({ id: action.id, type: action.type, created })),
  };
}

type SupportedFix = { fix: Fix; params: Record<string, unknown> };

/** A fix that applies to this finding's resource, if the catalog has one. */
function supportedFix(catalog: Catalog, finding: NormalizedFinding): SupportedFix | undefined {
  const request = fixRequestFor(finding);
  const fix = request ? catalog.get(request.type) : undefined;
  if (!fix || !request) return undefined;
  const accepts =
    fix.resourceType === finding.resource.type || fix.alsoAccepts?.includes(finding.resource.type);
  return accepts ? { fix, params: request.params } : undefined;
}
