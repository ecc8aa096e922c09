import type { Catalog } from '../catalog/index.ts';
import type { Fix } from '../catalog/fix.ts';
import { AppError, invalidInput } from '../domain/errors.ts';
import {
  type FindingReport,
  type NormalizedFinding,
  noReportedChanges,
  type ReportResult,
} from '../domain/finding.ts';
import {
  detectLayout,
  parseFindingsFile,
  READERS,
  refuseUnstorableText,
  type FindingsFormat,
  type ReadFinding,
} from '../findings/import.ts';
import { decodeFindingsFile, refuseWideEncoding } from '../findings/encoding.ts';
import { locatePath } from '../findings/json-text.ts';
import { JsonArrayReader, type ReadElement } from '../findings/json-array-reader.ts';
import { isSpace, OPEN_BRACKET } from '../findings/json-bytes.ts';
import { fixRequestFor } from '../findings/mapping.ts';
import { reportFor } from '../findings/report.ts';
import { formatPath, ShapeError } from '../findings/shape.ts';
import { type FindingsSummary, summarize } from '../findings/summary.ts';
import { describeTextProblem, findUnstorableText, printable } from '../domain/text.ts';
import type { NewAction, Store } from '../store/store.ts';
import { newAction } from './new-action.ts';

/** What an import found, and what it did with the failed findings the catalog can fix. */
export interface ImportCounts extends FindingsSummary {
  /** Supported findings that opened a new action. */
  created: number;
  /** Supported findings linked to an action already open for the same problem. */
  linked: number;
}

/** What happened to the stored findings: see `FindingStore.reportFindings`. */
export type StoredCounts = Omit<ReportResult, 'findingIds'>;

export interface ImportResult {
  format: string;
  counts: ImportCounts;
  findings: StoredCounts;
  /** How many transactions the import was stored in (see IMPORT_BATCH). */
  batches: number;
  actions: { id: string; type: string; created: boolean }[];
  /** What was imported but looks wrong in the file, each said in a sentence. */
  warnings: string[];
}

export interface ImportProgress {
  /** Findings read so far. */
  findings: number;
  /** Bytes of the file read so far. */
  bytes: number;
}

export interface ImportDeps {
  store: Store;
  catalog: Catalog;
  now: Date;
  actor: string;
  /** The kubeconfig context Kubernetes findings belong to; `default` when not given. */
  kubeContext?: string;
  /** Findings per transaction; IMPORT_BATCH unless set. */
  batchSize?: number;
  /** Told after each stored batch. */
  onProgress?: (progress: ImportProgress) => void;
}

/**
 * Findings stored per transaction. A file of up to this many is all or nothing; a larger
 * one is stored batch by batch, each batch whole or not at all. Re-importing a file after
 * a failure is safe: findings are deduplicated by origin and key, actions by fix and
 * resource, so the batches already stored are only updated.
 */
export const IMPORT_BATCH = 1000;

/**
 * Imports a findings file held as text. The whole file is parsed and mapped before the
 * first write, so a file that is malformed anywhere records nothing.
 */
export async function importFindings(text: string, deps: ImportDeps): Promise<ImportResult> {
  const { format, findings } = parseFindingsFile(
    text,
    deps.kubeContext ? { kubeContext: deps.kubeContext } : undefined,
  );
  const writer = new BatchWriter(deps);
  const prepared = findings.map((finding, index) => writer.prepare(finding, index));
  for (const item of prepared) await writer.add(item, text.length);
  return writer.finish(format, text.length);
}

export interface StreamOptions {
  /** Largest document that is not a top-level array, which must be read whole. */
  limitBytes: number;
  /** The error for a document over `limitBytes`. */
  tooLarge: (limitBytes: number) => Error;
}

/**
 * Imports a findings file as it arrives. A top-level array (Prowler JSON-OCSF, ASFF as a
 * bare array) is read one finding at a time and stored batch by batch, so memory stays
 * flat whatever the file's size; anything else (the ASFF envelope, Kubernetes reports,
 * YAML) is read whole, up to `limitBytes`, and imported as text.
 */
export async function importFindingsStream(
  source: AsyncIterable<Buffer | string>,
  deps: ImportDeps,
  opts: StreamOptions,
): Promise<ImportResult> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let first: number | undefined;
  let bytes = 0;
  while (first === undefined) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = toBuffer(next.value);
    head.push(chunk);
    bytes += chunk.length;
    if (bytes > opts.limitBytes) throw opts.tooLarge(opts.limitBytes);
    first = firstSignificant(chunk, head.length === 1);
  }
  refuseWideEncoding(Buffer.concat(head));
  const rest = { [Symbol.asyncIterator]: () => iterator };
  if (first !== OPEN_BRACKET) {
    const chunks = head;
    for await (const value of rest) {
      const chunk = toBuffer(value);
      bytes += chunk.length;
      if (bytes > opts.limitBytes) throw opts.tooLarge(opts.limitBytes);
      chunks.push(chunk);
    }
    if (bytes > opts.limitBytes) throw opts.tooLarge(opts.limitBytes);
    return importFindings(decodeFindingsFile(Buffer.concat(chunks)), deps);
  }

  const reader = new JsonArrayReader();
  const writer = new BatchWriter(deps);
  let format: FindingsFormat = 'prowler-ocsf';
  let read: ReadFinding | undefined;
  const take = async (elements: ReadElement[]) => {
    for (const element of elements) {
      if (!element.storable) refuseUnstorableElement(element);
      if (!read) {
        format = detectLayout([element.value]).format as FindingsFormat;
        read = READERS[format as keyof typeof READERS];
      }
      const finding = readElement(read, element, format);
      const full = writer.add(
        writer.prepare(finding, element.index, element.storable),
        reader.offset,
      );
      if (full) await full;
    }
  };
  try {
    await take(reader.push(stripBomBytes(Buffer.concat(head))));
    for await (const value of rest) await take(reader.push(toBuffer(value)));
    await take(reader.end());
  } catch (error) {
    // The refusal says exactly which findings were stored: let the batch in flight land.
    await writer.settle();
    if (!(error instanceof AppError)) throw error;
    throw new AppError(error.code, `${error.message}${writer.kept()}`, error.details);
  }
  return writer.finish(format, reader.offset);
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function stripBomBytes(bytes: Buffer): Buffer {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

/**
 * The first byte of `chunk` that is not white space (nor, in the first chunk, a byte-order
 * mark); undefined when there is none yet.
 */
function firstSignificant(chunk: Buffer, isFirst: boolean): number | undefined {
  const body = isFirst ? stripBomBytes(chunk) : chunk;
  for (const c of body) {
    if (!isSpace(c)) return c;
  }
  return undefined;
}

/** Refuses an element holding text no database keeps as written, naming its line. */
function refuseUnstorableElement(element: ReadElement): void {
  try {
    refuseUnstorableText(element.value, [element.index], element.index);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const { line } = element.locate();
    throw new AppError(error.code, `${error.message} (the finding starts at line ${line})`, {
      ...error.details,
      line,
    });
  }
}

function readElement(read: ReadFinding, element: ReadElement, format: FindingsFormat) {
  try {
    return read(element.value, [element.index]);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    const path = formatPath(error.path);
    const { text, line: first } = element.locate();
    const inner = locatePath(text, [...error.path.slice(1)]);
    const line = first + (inner ? inner.line - 1 : 0);
    throw invalidInput(
      `${path}: ${error.problem} (line ${line}); the file does not have the ${format} shape ` +
        'there',
      { format, path, index: element.index, line },
    );
  }
}

/**
 * A finding whose text holds NUL or a lone surrogate cannot be stored as read, and is
 * refused naming it rather than altered.
 */
function refuseUnstorableFinding(finding: NormalizedFinding, index: number): void {
  const found = findUnstorableText(finding);
  if (!found) return;
  const id = printable(finding.source.findingId);
  const field = found.inKey ? `the field name ${found.path}` : found.path;
  throw invalidInput(
    `finding ${index + 1} (${id}): ${field} ${describeTextProblem(found.problem)}`,
    { finding: index + 1, findingId: id, field: found.path, problem: found.problem },
  );
}

interface Prepared {
  finding: NormalizedFinding;
  report: FindingReport | undefined;
  action: NewAction | undefined;
  fixType: string | undefined;
}

/** A full batch, with how far into the file it reaches. */
interface ReadyBatch {
  items: Prepared[];
  /** Findings read up to its end. */
  read: number;
  /** Bytes read up to its end. */
  bytes: number;
}

/** Maps findings to reports and actions, and stores them a batch at a time. */
class BatchWriter {
  private readonly deps: ImportDeps;
  private readonly size: number;
  private pending: Prepared[] = [];
  private read = 0;
  private batches = 0;
  /** Findings in the batches stored so far. */
  private storedFindings = 0;
  private summary: FindingsSummary = summarize([], () => undefined);
  private stored: StoredCounts = noReportedChanges();
  private readonly actions: ImportResult['actions'] = [];
  private created = 0;
  /** Findings holding a template placeholder, and the first one seen. */
  private placeholders = { count: 0, example: '' };
  /** Full batches waiting for the store, in order. */
  private ready: ReadyBatch[] = [];
  /** The error of a write that failed; nothing is stored after it. */
  private failed: { error: unknown } | undefined;
  /** The batch being stored while the next ones are read. */
  private inflight: Promise<void> | undefined;

  constructor(deps: ImportDeps) {
    this.deps = deps;
    this.size = deps.batchSize ?? IMPORT_BATCH;
  }

  /**
   * Refuses a finding no action can be made for, naming it; writes nothing. `textChecked`
   * says its source text is known to hold only storable text, which mapping keeps so.
   */
  prepare(finding: NormalizedFinding, index: number, textChecked = false): Prepared {
    if (!textChecked) refuseUnstorableFinding(finding, index);
    const placeholder = placeholderIn(finding);
    if (placeholder !== undefined) {
      this.placeholders.count += 1;
      this.placeholders.example ||= placeholder;
    }
    const supported = supportedFix(this.deps.catalog, finding);
    const remedy = supported ? { type: supported.fix.type, params: supported.params } : null;
    let action: NewAction | undefined;
    if (finding.status === 'failed' && supported) {
      try {
        action = newAction(
          supported.fix,
          finding.resource,
          finding.source,
          finding.severity,
          supported.params,
        );
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        throw new AppError(
          error.code,
          `finding ${index + 1} (${finding.source.findingId}): ${error.message}`,
          { ...error.details, finding: index + 1, findingId: finding.source.findingId },
        );
      }
    }
    return { finding, report: reportFor(finding, remedy), action, fixType: supported?.fix.type };
  }

  /**
   * Queues a finding. Full batches go to the store one at a time, in order, each only once
   * the one before it is stored, so a failure leaves exactly the batches before it. Reading
   * runs ahead of the store by up to one more full batch, so that neither waits for the
   * other over a batch that happens to be slow to parse or to store; memory stays bounded
   * by three batches.
   */
  add(item: Prepared, bytes: number): Promise<void> | undefined {
    if (this.failed) throw this.failed.error;
    this.pending.push(item);
    this.read += 1;
    // Most findings only join the batch: no promise, so no turn of the event loop each.
    if (this.pending.length < this.size) return undefined;
    this.ready.push({ items: this.pending, read: this.read, bytes });
    this.pending = [];
    this.pump();
    return this.ready.length > 1 ? this.inflight : undefined;
  }

  /**
   * Hands the next full batch to the store when none is in flight. After a failed write
   * nothing more is handed on: the batches still waiting are dropped.
   */
  private pump(): void {
    if (this.inflight || this.failed || this.ready.length === 0) return;
    const next = this.ready.shift()!;
    const write = this.flush(next).then(
      () => {
        this.inflight = undefined;
        this.pump();
      },
      (error: unknown) => {
        this.failed = { error };
        this.ready = [];
        this.inflight = undefined;
        throw error;
      },
    );
    // Awaited by `add`, `finish` or `settle`; noted here so it is never unhandled.
    write.catch(() => undefined);
    this.inflight = write;
  }

  /** What a refusal after `settle` leaves stored, as the end of its message. */
  kept(): string {
    return this.storedFindings === 0
      ? '; nothing was imported'
      : `; the first ${this.storedFindings} findings were imported, nothing after them`;
  }

  /**
   * Before a refusal is reported: lets every full batch already read reach the store (or
   * fail), whatever the outcome, so that `kept` says exactly what is stored.
   */
  async settle(): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  async finish(format: string, bytes: number): Promise<ImportResult> {
    while (this.inflight) await this.inflight;
    if (this.failed) throw this.failed.error;
    if (this.pending.length > 0 || this.batches === 0) {
      await this.flush({ items: this.pending, read: this.read, bytes });
    }
    return {
      format,
      counts: {
        ...this.summary,
        created: this.created,
        linked: this.actions.length - this.created,
      },
      findings: this.stored,
      batches: this.batches,
      actions: this.actions,
      warnings: this.warnings(),
    };
  }

  private warnings(): string[] {
    const warnings: string[] = [];
    const { repeated } = this.stored;
    if (repeated > 0) {
      warnings.push(
        `${repeated} finding(s) repeat a finding id read earlier in the file; each was ` +
          'stored over the earlier one, so the last report of an id stands',
      );
    }
    const { count, example } = this.placeholders;
    if (count > 0) {
      warnings.push(
        `${count} finding(s) hold template placeholders such as ${example} for an id, ` +
          'account or region: the file looks like a documentation example rather than ' +
          'scanner output; they were stored as written',
      );
    }
    return warnings;
  }

  private async flush({ items: batch, read, bytes }: ReadyBatch): Promise<void> {
    const reports = batch.flatMap((p) => (p.report ? [p.report] : []));
    const planned = batch.flatMap((p) => (p.action ? [p.action] : []));
    // Sent before the counting below, so the store does not wait for it.
    const stored = this.deps.store.recordImport(reports, planned, {
      actor: this.deps.actor,
      now: this.deps.now,
    });
    const types = new Map(batch.map((p) => [p.finding, p.fixType]));
    const summary = summarize(
      batch.map((p) => p.finding),
      (f) => types.get(f),
    );
    const { report, actions } = await stored;
    for (const key of Object.keys(this.summary) as (keyof FindingsSummary)[]) {
      this.summary[key] += summary[key];
    }
    for (const key of Object.keys(this.stored) as (keyof StoredCounts)[]) {
      this.stored[key] += report[key];
    }
    for (const { action, created } of actions) {
      this.actions.push({ id: action.id, type: action.type, created });
      if (created) this.created += 1;
    }
    this.batches += 1;
    this.storedFindings += batch.length;
    this.deps.onProgress?.({ findings: read, bytes });
  }
}

/** `<account_uid>`, `<region>`: a value a documentation example leaves to be filled in. */
const PLACEHOLDER = /^<[a-z_]+>$/;

/** The first template placeholder among the values that name a finding and its resource. */
function placeholderIn(finding: NormalizedFinding): string | undefined {
  const { source, resource } = finding;
  for (const value of [source.findingId, resource.id, resource.account, resource.region]) {
    // Most values do not start with `<`: the pattern is tried only on those that do.
    if (value.startsWith('<') && PLACEHOLDER.test(value)) return value;
  }
  return undefined;
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
