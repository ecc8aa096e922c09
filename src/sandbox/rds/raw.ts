import { SandboxInputError } from '../api-error.ts';
import type { AwsRecord } from './model.ts';

/*
 * Turns RDS records as others keep them into the sandbox's saved form, so recorded AWS
 * answers and scanner output can be loaded as a starting state: botocore recordings
 * (`{ status_code, data }` with datetimes as `{ "__class__": "datetime", ... }`) and
 * Security Hub's `AwsRdsDbInstance` details, which spell some fields their own way.
 */

/**
 * The DBInstances in the text of a saved DescribeDBInstances answer. Text that is not
 * JSON (documentation output cut with "...some output truncated...", say) is refused
 * with where it breaks, rather than loaded in part.
 */
export function instancesFromResponseText(text: string, source: string): AwsRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new SandboxInputError(
      `${source} is not valid JSON (${(err as Error).message}), so no RDS instance was ` +
        'loaded from it; save the complete answer of describe-db-instances and load that',
    );
  }
  return instancesFromResponse(parsed);
}

/** The DBInstances of a DescribeDBInstances answer, bare or as a botocore recording. */
export function instancesFromResponse(value: unknown): AwsRecord[] {
  const data =
    isObject(value) && isObject(value.data) && 'status_code' in value ? value.data : value;
  if (!isObject(data) || !Array.isArray(data.DBInstances)) {
    throw new SandboxInputError(
      'not a DescribeDBInstances answer: expected { "DBInstances": [...] } or a recording ' +
        'of one ({ "status_code", "data": { "DBInstances": [...] } })',
    );
  }
  return data.DBInstances.map((record, i) => {
    if (!isObject(record)) throw new SandboxInputError(`DBInstances[${i}] must be an object`);
    return plain(record) as AwsRecord;
  });
}

/** Security Hub's names for DBInstance fields, where they differ from the RDS API's. */
const ASFF_NAMES: Record<string, string> = {
  MultiAz: 'MultiAZ',
  DbInstanceStatus: 'DBInstanceStatus',
  DbInstanceIdentifier: 'DBInstanceIdentifier',
  DbInstanceClass: 'DBInstanceClass',
  DbName: 'DBName',
  DbClusterIdentifier: 'DBClusterIdentifier',
  DbSecurityGroups: 'DBSecurityGroups',
  DbParameterGroups: 'DBParameterGroups',
  DbParameterGroupName: 'DBParameterGroupName',
  DbSubnetGroup: 'DBSubnetGroup',
  DbSubnetGroupName: 'DBSubnetGroupName',
  DbSubnetGroupDescription: 'DBSubnetGroupDescription',
  DbSubnetGroupArn: 'DBSubnetGroupArn',
};

/** An ASFF `Resources[].Details.AwsRdsDbInstance` as the DBInstance RDS would return. */
export function instanceFromAsffDetails(details: unknown): AwsRecord {
  const inner =
    isObject(details) && isObject(details.AwsRdsDbInstance) ? details.AwsRdsDbInstance : details;
  if (!isObject(inner)) {
    throw new SandboxInputError('ASFF details must hold an AwsRdsDbInstance object');
  }
  return rename(plain(inner)) as AwsRecord;
}

function rename(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rename);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[ASFF_NAMES[key] ?? key] = rename(child);
  return out;
}

/** Recorded datetimes become ISO 8601 strings; everything else is copied. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (!isObject(value)) return value;
  if (value.__class__ === 'datetime') return datetime(value);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = plain(child);
  return out;
}

function datetime(v: Record<string, unknown>): string {
  const n = (key: string) => (typeof v[key] === 'number' ? (v[key] as number) : 0);
  const ms = Math.floor(n('microsecond') / 1000);
  const at = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'), ms);
  return new Date(at).toISOString();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
