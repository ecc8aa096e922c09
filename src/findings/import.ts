import type { NormalizedFinding } from '../domain/finding.ts';
import { invalidInput } from '../domain/errors.ts';
import { looksLikeAsff, readAsffFinding } from './asff.ts';
import { locatePath, parseJsonText, stripBom } from './json-text.ts';
import { looksLikeOcsf, readOcsfFinding } from './ocsf.ts';
import {
  detectKubernetes,
  KUBERNETES_ACCEPTED,
  KUBERNETES_FORMAT_NAMES,
  type KubernetesFormat,
  readKubernetesDocument,
  readKubernetesYaml,
} from './k8s/index.ts';
import { DEFAULT_CONTEXT } from './k8s/resource.ts';
import { looksLikeYaml } from './k8s/yaml-text.ts';
import { formatPath, isObject, ShapeError, type Path } from './shape.ts';
import {
  describeTextProblem,
  findUnstorableText,
  jsonMayHoldUnstorableText,
} from '../domain/text.ts';

/** The AWS formats, read one finding at a time (see `FindingsLayout`). */
export type LayoutFormat = 'prowler-ocsf' | 'asff';
export type FindingsFormat = LayoutFormat | KubernetesFormat;

export interface ImportOptions {
  /**
   * The kubeconfig context Kubernetes findings are about: reports and manifests do not
   * say which cluster they came from. `default` when not given.
   */
  kubeContext?: string;
}

export interface ParsedFindings {
  format: FindingsFormat;
  findings: NormalizedFinding[];
}

const FORMAT_NAMES: Record<FindingsFormat, string> = {
  'prowler-ocsf': 'Prowler JSON-OCSF',
  asff: 'Security Hub ASFF',
  ...KUBERNETES_FORMAT_NAMES,
};

const ACCEPTED =
  'accepted formats are Prowler JSON-OCSF (the array written by --output-formats json-ocsf) ' +
  'and AWS Security Finding Format (a bare array of findings, the {"Findings": [...]} ' +
  'envelope of GetFindings and Security Hub exports, or a single finding), and for ' +
  `Kubernetes ${KUBERNETES_ACCEPTED}`;

/**
 * Where the findings sit in a parsed file and how to read each one. Splitting detection
 * from reading lets a streaming reader feed items one by one to the same `read`.
 */
export interface FindingsLayout {
  format: LayoutFormat;
  items: readonly unknown[];
  /** The JSON path of `items` in the document. */
  base: Path;
}

/** Reads one finding; `path` is its JSON path, used in the messages of refusals. */
export type ReadFinding = (value: unknown, path: Path) => NormalizedFinding;

export const READERS: Record<LayoutFormat, ReadFinding> = {
  'prowler-ocsf': readOcsfFinding,
  asff: readAsffFinding,
};

/**
 * Reads a findings file, its format recognised by its content: Prowler JSON-OCSF,
 * Security Hub ASFF, or a Kubernetes scanner report or manifest (JSON or YAML).
 * All or nothing: a file with one malformed finding is refused whole, with the path
 * (and line) of the problem. Pure; the caller does the reading from disk or HTTP.
 */
export function parseFindingsFile(text: string, options: ImportOptions = {}): ParsedFindings {
  const source = stripBom(text);
  const kube = { context: options.kubeContext ?? DEFAULT_CONTEXT };
  if (looksLikeYaml(source)) return readKubernetesYaml(source, kube);
  const document = parseJsonText(source);
  const mayHoldUnstorable = jsonMayHoldUnstorableText(source);
  const kubernetes = detectKubernetes(document);
  if (kubernetes && isObject(document)) {
    if (mayHoldUnstorable) refuseUnstorableText(document, [], undefined, '; nothing was imported');
    try {
      return { format: kubernetes, findings: readKubernetesDocument(kubernetes, document, kube) };
    } catch (error) {
      if (error instanceof ShapeError) throw shapeError(source, kubernetes, error);
      throw error;
    }
  }
  const layout = detectLayout(document);
  const read = READERS[layout.format];
  try {
    const findings = layout.items.map((item, i) => {
      if (mayHoldUnstorable) {
        refuseUnstorableText(item, [...layout.base, i], i, '; nothing was imported');
      }
      return read(item, [...layout.base, i]);
    });
    return { format: layout.format, findings };
  } catch (error) {
    if (error instanceof ShapeError) throw shapeError(source, layout.format, error);
    throw error;
  }
}

/**
 * Refuses a finding holding text no database keeps as written (NUL, a lone UTF-16
 * surrogate) anywhere, naming the finding and the field, rather than altering it.
 */
export function refuseUnstorableText(
  value: unknown,
  base: Path,
  index: number | undefined,
  outcome = '',
): void {
  const found = findUnstorableText(value);
  if (!found) return;
  const path = formatPath([...base, ...found.segments]);
  const subject = found.inKey ? `the field name ${path}` : path;
  const finding = index === undefined ? '' : `finding ${index + 1}: `;
  throw invalidInput(`${finding}${subject} ${describeTextProblem(found.problem)}${outcome}`, {
    path,
    ...(index === undefined ? {} : { index }),
    problem: found.problem,
  });
}

/** Tells the format from the parsed document's shape, or refuses it saying what was found. */
export function detectLayout(document: unknown): FindingsLayout {
  if (Array.isArray(document)) {
    // An empty array is what both tools write when nothing was found; either name fits.
    const first: unknown = document[0];
    if (first === undefined || looksLikeOcsf(first)) {
      return { format: 'prowler-ocsf', items: document, base: [] };
    }
    if (looksLikeAsff(first)) return { format: 'asff', items: document, base: [] };
    throw invalidInput(
      'findings[0] is neither a Prowler JSON-OCSF finding (no metadata.event_code and ' +
        'status_code) nor an ASFF finding (no SchemaVersion, GeneratorId or Resources); ' +
        ACCEPTED,
      { path: 'findings[0]' },
    );
  }
  if (isObject(document)) {
    if (Array.isArray(document.Findings)) {
      return { format: 'asff', items: document.Findings, base: ['Findings'] };
    }
    if (looksLikeAsff(document)) return { format: 'asff', items: [document], base: [] };
    if (looksLikeOcsf(document)) {
      throw invalidInput(
        'this is a single OCSF finding; Prowler JSON-OCSF files are an array of findings, ' +
          'so wrap it in [ ] or import the file Prowler wrote',
        { path: 'findings' },
      );
    }
    if ('status_code' in document && isObject(document.data)) throw recordedResponse(document);
    const keys = Object.keys(document).slice(0, 5).join(', ') || 'no keys';
    throw invalidInput(`not a findings file: found an object with ${keys}; ${ACCEPTED}`, {
      path: 'findings',
    });
  }
  throw invalidInput(`not a findings file: the JSON value is ${kindOf(document)}; ${ACCEPTED}`, {
    path: 'findings',
  });
}

/**
 * Recorded SDK responses (botocore/placebo captures) wrap the API's answer as
 * `{ status_code, data }`. They are test recordings, not exports, and are refused
 * rather than unwrapped so that what was imported is always a file a scanner wrote.
 */
function recordedResponse(document: Record<string, unknown>) {
  const data = document.data as Record<string, unknown>;
  const inner = Array.isArray(data.Findings)
    ? 'its Security Hub findings are under data.Findings: save that {"Findings": [...]} ' +
      'part on its own (or run aws securityhub get-findings) and import that file'
    : `it holds ${Object.keys(data).slice(0, 5).join(', ') || 'nothing'}, not findings`;
  return invalidInput(
    `not a findings file: this is a recorded AWS API response ({"status_code", "data"}); ${inner}`,
    { path: 'data', problem: 'recorded_response' },
  );
}

function shapeError(source: string, format: FindingsFormat, error: ShapeError) {
  const path = formatPath(error.path);
  const position = locatePath(source, [...error.path]);
  const at = position ? ` (line ${position.line}, column ${position.column})` : '';
  const index = error.path.find((segment) => typeof segment === 'number');
  return invalidInput(
    `${path}: ${error.problem}${at}; the file does not have the ${FORMAT_NAMES[format]} ` +
      'shape there and nothing was imported',
    { format, path, ...(index !== undefined ? { index } : {}), ...position },
  );
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  return `a ${typeof value}`;
}
