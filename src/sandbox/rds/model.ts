import { createHash, randomBytes } from 'node:crypto';
import { list, type XmlValue } from '../query/xml.ts';

/**
 * RDS resources are kept in RDS's own shapes (`DBInstance`, `DBSnapshot`, `DBCluster`
 * with AWS's field names, times as ISO 8601 strings), so what DescribeDBInstances
 * returns is the record itself and raw AWS responses load as they are.
 */
export type AwsRecord = Record<string, unknown>;

/** Statuses that end on their own after the region's `transitionMs`. */
export interface Transition {
  kind: 'instance' | 'snapshot' | 'cluster';
  id: string;
  /** ISO 8601 time it completes. */
  at: string;
  /** The status it ends in. */
  status: string;
  /** Deleting: the resource goes away instead. */
  remove?: boolean;
  /** Modifying: PendingModifiedValues are applied when it ends. */
  applyPending?: boolean;
}

export interface RdsSettings {
  /** How long creating, modifying, backing-up, stopping, starting and deleting last. */
  transitionMs: number;
  /**
   * Changes made without ApplyImmediately wait for the maintenance window; when this is a
   * number they are applied that long after they were requested, else only when the
   * window is moved onto the current time or ApplyImmediately is sent.
   */
  maintenanceAfterMs: number | null;
}

export const DEFAULT_SETTINGS: RdsSettings = Object.freeze({
  transitionMs: 0,
  maintenanceAfterMs: null,
});

export interface RdsRegion {
  settings: RdsSettings;
  instances: Map<string, AwsRecord>;
  snapshots: Map<string, AwsRecord>;
  clusters: Map<string, AwsRecord>;
  transitions: Transition[];
  /** When each instance's oldest pending change was requested, for `maintenanceAfterMs`. */
  pendingSince: Map<string, string>;
}

export const AURORA_ENGINES = ['aurora-mysql', 'aurora-postgresql'] as const;

export const ENGINES = [
  'mysql',
  'mariadb',
  'postgres',
  'oracle-ee',
  'oracle-ee-cdb',
  'oracle-se2',
  'oracle-se2-cdb',
  'sqlserver-ee',
  'sqlserver-se',
  'sqlserver-ex',
  'sqlserver-web',
  'db2-se',
  'db2-ae',
  ...AURORA_ENGINES,
] as const;

/** Engine defaults for what CreateDBInstance leaves out. */
export const ENGINE_DEFAULTS: Record<string, { version: string; port: number; license: string }> = {
  mysql: { version: '8.0.40', port: 3306, license: 'general-public-license' },
  mariadb: { version: '10.11.10', port: 3306, license: 'general-public-license' },
  postgres: { version: '16.6', port: 5432, license: 'postgresql-license' },
  'aurora-mysql': {
    version: '8.0.mysql_aurora.3.08.0',
    port: 3306,
    license: 'general-public-license',
  },
  'aurora-postgresql': { version: '16.6', port: 5432, license: 'postgresql-license' },
};
const FALLBACK_ENGINE = {
  version: '19.0.0.0.ru-2024-10.rur-2024-10.r1',
  port: 1521,
  license: 'bring-your-own-license',
};

export function engineDefaults(engine: string) {
  if (engine.startsWith('sqlserver'))
    return { version: '16.00.4165.4.v1', port: 1433, license: 'license-included' };
  return ENGINE_DEFAULTS[engine] ?? FALLBACK_ENGINE;
}

/**
 * RDS identifiers: a letter first, then letters, digits and single hyphens, no hyphen
 * at the end. RDS stores them lower-cased.
 */
const IDENTIFIER = /^[a-z](?:-?[a-z0-9])*$/;

export function isIdentifier(value: string, max: number): boolean {
  return value.length <= max && IDENTIFIER.test(value.toLowerCase());
}

/** The identifier a request names, whether as an identifier or an ARN of the given kind. */
export function identifierOf(value: string, kind: 'db' | 'snapshot' | 'cluster'): string {
  const match = /^arn:aws[\w-]*:rds:[^:]*:\d*:(db|snapshot|cluster):(.+)$/.exec(value);
  if (match && match[1] === kind) return (match[2] as string).toLowerCase();
  return value.toLowerCase();
}

export function arn(
  kind: 'db' | 'snapshot' | 'cluster',
  region: string,
  account: string,
  id: string,
) {
  return `arn:aws:rds:${region}:${account}:${kind}:${id}`;
}

/** `db-` and 26 upper-case letters and digits, as DbiResourceId looks. */
export function resourceId(prefix: 'db' | 'cluster'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(26);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return `${prefix}-${out}`;
}

const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/;
const ALIAS_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(alias\/.+)$/;

/**
 * The key ARN RDS reports for a KmsKeyId as given: key ids and ARNs as themselves, an
 * alias as the ARN of a key derived from the alias name (the same alias always gives the
 * same key). Null when the value is not a KMS key id, key ARN, alias or alias ARN.
 */
export function resolveKmsKey(value: string, region: string, account: string): string | null {
  if (KEY_ARN.test(value)) return value;
  if (KEY_ID.test(value)) return `arn:aws:kms:${region}:${account}:key/${value}`;
  const alias = value.startsWith('alias/') ? value : ALIAS_ARN.exec(value)?.[1];
  if (!alias || alias.length <= 'alias/'.length) return null;
  const h = createHash('sha256').update(`${account}/${region}/${alias}`).digest('hex');
  const uuid =
    `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-` + h.slice(20, 32);
  return `arn:aws:kms:${region}:${account}:key/${uuid}`;
}

/** The element RDS wraps each item of a list field in; `member` for the rest. */
const LIST_MEMBERS: Record<string, string> = {
  DBSecurityGroups: 'DBSecurityGroup',
  VpcSecurityGroups: 'VpcSecurityGroupMembership',
  DBParameterGroups: 'DBParameterGroup',
  Subnets: 'Subnet',
  ReadReplicaDBInstanceIdentifiers: 'ReadReplicaDBInstanceIdentifier',
  ReadReplicaDBClusterIdentifiers: 'ReadReplicaDBClusterIdentifier',
  ReadReplicaIdentifiers: 'ReadReplicaIdentifier',
  OptionGroupMemberships: 'OptionGroupMembership',
  DomainMemberships: 'DomainMembership',
  ProcessorFeatures: 'ProcessorFeature',
  TagList: 'Tag',
  DBInstanceAutomatedBackupsReplications: 'DBInstanceAutomatedBackupsReplication',
  AvailabilityZones: 'AvailabilityZone',
  DBClusterMembers: 'DBClusterMember',
  DBClusterOptionGroupMemberships: 'DBClusterOptionGroup',
};

const KIND_MEMBERS: Record<string, Record<string, string>> = {
  instance: { StatusInfos: 'DBInstanceStatusInfo', AssociatedRoles: 'DBInstanceRole' },
  cluster: { StatusInfos: 'DBClusterStatusInfo', AssociatedRoles: 'DBClusterRole' },
  snapshot: {},
};

/** A stored record as the XML tree of its response element. */
export function recordXml(record: AwsRecord, kind: 'instance' | 'snapshot' | 'cluster'): XmlValue {
  return toValue(record, KIND_MEMBERS[kind] ?? {}) as XmlValue;
}

function toValue(value: unknown, members: Record<string, string>, field = ''): XmlValue {
  if (Array.isArray(value)) {
    const tag = members[field] ?? LIST_MEMBERS[field] ?? 'member';
    return list(
      tag,
      value.map((item) => toValue(item, members)),
    );
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, XmlValue> = {};
    for (const [key, child] of Object.entries(value)) out[key] = toValue(child, members, key);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return undefined;
}

export function statusOf(record: AwsRecord, field = 'DBInstanceStatus'): string {
  const status = record[field];
  return typeof status === 'string' ? status : 'available';
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
