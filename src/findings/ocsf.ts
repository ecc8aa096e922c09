import type { FindingStatus, NormalizedFinding } from '../domain/finding.ts';
import { nameFromId, placeOfId, resourceTypeFor } from './aws-resource.ts';
import { severityFromLabel, severityFromOcsfId, UNRATED } from './severity.ts';
import {
  asObject,
  firstOfList,
  isObject,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalStringList,
  requiredObject,
  requiredString,
  ShapeError,
  type JsonObject,
  type Path,
} from './shape.ts';

/**
 * Reads Prowler's JSON-OCSF output: an array of OCSF Detection Finding objects, one per
 * check and resource, with the check id in `metadata.event_code`.
 */

/** Whether a parsed value looks like one OCSF finding, for telling formats apart. */
export function looksLikeOcsf(value: unknown): boolean {
  return (
    isObject(value) &&
    isObject(value.metadata) &&
    ('finding_info' in value || 'status_code' in value)
  );
}

const STATUS_CODES: Readonly<Record<string, FindingStatus>> = {
  FAIL: 'failed',
  PASS: 'passed',
  MANUAL: 'manual',
};

/** OCSF status for a finding Prowler was told to mute (status_id 3). */
const SUPPRESSED = 'suppressed';
const SUPPRESSED_ID = 3;

export function readOcsfFinding(value: unknown, path: Path): NormalizedFinding {
  const finding = asObject(value, path);
  const statusCode = requiredString(finding, 'status_code', path);
  const metadata = requiredObject(finding, 'metadata', path);
  const checkId = requiredString(metadata, 'event_code', [...path, 'metadata']);
  const info = requiredObject(finding, 'finding_info', path);
  const infoPath = [...path, 'finding_info'];
  const findingId = requiredString(info, 'uid', infoPath);
  const title =
    optionalString(info, 'title', infoPath) ?? optionalString(finding, 'message', path) ?? checkId;

  const cloud = requiredObject(finding, 'cloud', path);
  const cloudPath = [...path, 'cloud'];
  const provider = optionalString(cloud, 'provider', cloudPath);
  if (provider !== undefined && provider.toLowerCase() !== 'aws') {
    throw new ShapeError(
      [...cloudPath, 'provider'],
      `only AWS findings can be imported, found provider ${JSON.stringify(provider)}`,
    );
  }
  const account = optionalObject(cloud, 'account', cloudPath);
  const accountId = account ? optionalString(account, 'uid', [...cloudPath, 'account']) : undefined;
  const cloudRegion = optionalString(cloud, 'region', cloudPath);

  const resource = firstOfList(finding, 'resources', path, readResource);

  const place = placeOfId(resource.id);
  return {
    source: { kind: 'vulnerability', findingId, title, origin: 'prowler', checkId },
    status: statusOf(finding, statusCode, path),
    severity: severityOf(finding, path),
    resource: {
      provider: 'aws',
      account: accountId ?? place.account ?? '',
      region: resource.region ?? cloudRegion ?? place.region ?? '',
      type: resourceTypeFor(resource.type, resource.id),
      id: resource.id,
      name: resource.name ?? nameFromId(resource.id),
    },
    related: compliance(finding, path),
  };
}

interface OcsfResource {
  id: string;
  name: string | undefined;
  region: string | undefined;
  type: string | undefined;
}

function readResource(value: unknown, path: Path): OcsfResource {
  const resource = asObject(value, path);
  return {
    id: requiredString(resource, 'uid', path),
    name: optionalString(resource, 'name', path),
    region: optionalString(resource, 'region', path),
    type: optionalString(resource, 'type', path),
  };
}

function statusOf(finding: JsonObject, statusCode: string, path: Path): FindingStatus {
  const status = optionalString(finding, 'status', path);
  const statusId = optionalNumber(finding, 'status_id', path);
  if (status?.toLowerCase() === SUPPRESSED || statusId === SUPPRESSED_ID) return 'unknown';
  return STATUS_CODES[statusCode.trim().toUpperCase()] ?? 'unknown';
}

function severityOf(finding: JsonObject, path: Path) {
  return (
    severityFromLabel(optionalString(finding, 'severity', path)) ??
    severityFromOcsfId(optionalNumber(finding, 'severity_id', path)) ??
    UNRATED
  );
}

/** `unmapped.compliance` is `{ "CIS-2.0": ["2.1.1"], ... }`; each entry becomes `CIS-2.0 2.1.1`. */
function compliance(finding: JsonObject, path: Path): string[] {
  const unmapped = optionalObject(finding, 'unmapped', path);
  if (!unmapped) return [];
  const unmappedPath = [...path, 'unmapped'];
  const frameworks = optionalObject(unmapped, 'compliance', unmappedPath);
  if (!frameworks) return [];
  const related: string[] = [];
  for (const framework of Object.keys(frameworks)) {
    const ids = optionalStringList(frameworks, framework, [...unmappedPath, 'compliance']);
    for (const id of ids) related.push(`${framework} ${id}`);
  }
  return related;
}
