import type { DBInstance, DBSnapshot } from '@aws-sdk/client-rds';
import type { ResourceRef } from '../../domain/action.ts';
import type { FixContext, State } from '../fix.ts';
import {
  type ClusterFacts,
  findInstance,
  findSnapshot,
  type InstanceFacts,
  readFacts,
} from './instance.ts';
import { badState, fields, isRecord, parseFacts } from './state.ts';

export const ENCRYPTION_TYPE = 'rds.enable-storage-encryption';

/** What the restore copies from the original so the new instance matches it. */
export interface RestoreConfig {
  instanceClass: string | null;
  multiAZ: boolean | null;
  availabilityZone: string | null;
  subnetGroup: string | null;
  securityGroups: string[];
  publiclyAccessible: boolean | null;
  port: number | null;
  storageType: string | null;
  iops: number | null;
  parameterGroup: string | null;
  optionGroup: string | null;
  copyTagsToSnapshot: boolean | null;
  backupRetentionPeriod: number | null;
  backupWindow: string | null;
  tags: { Key: string; Value: string }[];
}

/** A resource this fix creates, as last read. */
export interface Created {
  id: string;
  status: string | null;
  encrypted: boolean | null;
  kmsKeyId: string | null;
  /** Instances only: a protected instance is one someone is about to depend on. */
  deletionProtection?: boolean | null;
}

export interface EncryptionState extends State, InstanceFacts {
  cluster: ClusterFacts | null;
  storageEncrypted: boolean | null;
  kmsKeyId: string | null;
  deletionProtection: boolean | null;
  config: RestoreConfig;
  sourceSnapshot: Created | null;
  encryptedSnapshot: Created | null;
  encryptedInstance: Created | null;
}

/** The names of what the fix creates, derived from the original's identifier. */
export function namesFor(instance: string) {
  return {
    sourceSnapshot: `${instance}-pre-encryption`,
    encryptedSnapshot: `${instance}-encrypted-copy`,
    encryptedInstance: `${instance}-encrypted`,
  };
}

export async function readEncryption(
  ctx: FixContext,
  resource: ResourceRef,
): Promise<EncryptionState> {
  const { db, facts, cluster } = await readFacts(ctx, resource);
  const names = namesFor(facts.instance);
  const [source, copy, created] = await Promise.all([
    findSnapshot(ctx, resource.region, names.sourceSnapshot),
    findSnapshot(ctx, resource.region, names.encryptedSnapshot),
    findInstance(ctx, resource.region, names.encryptedInstance),
  ]);
  return {
    ...facts,
    cluster,
    storageEncrypted: db.StorageEncrypted ?? null,
    kmsKeyId: db.KmsKeyId ?? null,
    deletionProtection: db.DeletionProtection ?? null,
    config: configOf(db),
    sourceSnapshot: source && snapshotFacts(source),
    encryptedSnapshot: copy && snapshotFacts(copy),
    encryptedInstance: created && instanceFacts(created),
  };
}

function configOf(db: DBInstance): RestoreConfig {
  return {
    instanceClass: db.DBInstanceClass ?? null,
    multiAZ: db.MultiAZ ?? null,
    availabilityZone: db.AvailabilityZone ?? null,
    subnetGroup: db.DBSubnetGroup?.DBSubnetGroupName ?? null,
    securityGroups: (db.VpcSecurityGroups ?? [])
      .map((g) => g.VpcSecurityGroupId ?? '')
      .filter((g) => g !== ''),
    publiclyAccessible: db.PubliclyAccessible ?? null,
    port: db.Endpoint?.Port ?? null,
    storageType: db.StorageType ?? null,
    iops: db.Iops ?? null,
    parameterGroup: db.DBParameterGroups?.[0]?.DBParameterGroupName ?? null,
    optionGroup: db.OptionGroupMemberships?.[0]?.OptionGroupName ?? null,
    copyTagsToSnapshot: db.CopyTagsToSnapshot ?? null,
    backupRetentionPeriod: db.BackupRetentionPeriod ?? null,
    backupWindow: db.PreferredBackupWindow ?? null,
    tags: (db.TagList ?? [])
      .filter((t) => typeof t.Key === 'string')
      .map((t) => ({ Key: t.Key as string, Value: t.Value ?? '' })),
  };
}

function snapshotFacts(s: DBSnapshot): Created {
  return {
    id: s.DBSnapshotIdentifier ?? '',
    status: s.Status ?? null,
    encrypted: s.Encrypted ?? null,
    kmsKeyId: s.KmsKeyId ?? null,
  };
}

function instanceFacts(db: DBInstance): Created {
  return {
    id: db.DBInstanceIdentifier ?? '',
    status: db.DBInstanceStatus ?? null,
    encrypted: db.StorageEncrypted ?? null,
    kmsKeyId: db.KmsKeyId ?? null,
    deletionProtection: db.DeletionProtection ?? null,
  };
}

export function parseEncryption(
  state: State,
  resource: ResourceRef | null = null,
): EncryptionState {
  const f = fields(ENCRYPTION_TYPE, state);
  return {
    ...parseFacts(ENCRYPTION_TYPE, state, resource),
    storageEncrypted: f.boolOrNull('storageEncrypted'),
    kmsKeyId: f.strOrNull('kmsKeyId'),
    deletionProtection: f.boolOrNull('deletionProtection'),
    config: parseConfig(state.config),
    sourceSnapshot: parseCreated(state.sourceSnapshot ?? null, 'sourceSnapshot'),
    encryptedSnapshot: parseCreated(state.encryptedSnapshot ?? null, 'encryptedSnapshot'),
    encryptedInstance: parseCreated(state.encryptedInstance ?? null, 'encryptedInstance'),
  };
}

function parseConfig(value: unknown): RestoreConfig {
  if (!isRecord(value)) throw badState(ENCRYPTION_TYPE, 'config', value, 'the restore settings');
  const f = fields(ENCRYPTION_TYPE, value, 'config.');
  const tags = value.tags ?? [];
  const tagsOk =
    Array.isArray(tags) &&
    tags.every((t) => isRecord(t) && typeof t.Key === 'string' && typeof t.Value === 'string');
  if (!tagsOk) throw badState(ENCRYPTION_TYPE, 'config.tags', tags, 'a list of { Key, Value }');
  return {
    instanceClass: f.strOrNull('instanceClass'),
    multiAZ: f.boolOrNull('multiAZ'),
    availabilityZone: f.strOrNull('availabilityZone'),
    subnetGroup: f.strOrNull('subnetGroup'),
    securityGroups: f.strings('securityGroups'),
    publiclyAccessible: f.boolOrNull('publiclyAccessible'),
    port: f.numOrNull('port'),
    storageType: f.strOrNull('storageType'),
    iops: f.numOrNull('iops'),
    parameterGroup: f.strOrNull('parameterGroup'),
    optionGroup: f.strOrNull('optionGroup'),
    copyTagsToSnapshot: f.boolOrNull('copyTagsToSnapshot'),
    backupRetentionPeriod: f.numOrNull('backupRetentionPeriod'),
    backupWindow: f.strOrNull('backupWindow'),
    tags: tags as { Key: string; Value: string }[],
  };
}

function parseCreated(value: unknown, field: string): Created | null {
  if (value === null) return null;
  if (!isRecord(value)) throw badState(ENCRYPTION_TYPE, field, value, 'null or what was created');
  const f = fields(ENCRYPTION_TYPE, value, `${field}.`);
  return {
    id: f.str('id'),
    status: f.strOrNull('status'),
    encrypted: f.boolOrNull('encrypted'),
    kmsKeyId: f.strOrNull('kmsKeyId'),
    ...(value.deletionProtection !== undefined
      ? { deletionProtection: f.boolOrNull('deletionProtection') }
      : {}),
  };
}
