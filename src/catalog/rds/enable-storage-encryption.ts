import { isDeepStrictEqual } from 'node:util';
import type { Reversibility } from '../../domain/action.ts';
import type { Fix, FixInput, State } from '../fix.ts';
import {
  type EncryptionState,
  ENCRYPTION_TYPE as TYPE,
  namesFor,
  parseEncryption as parse,
  readEncryption,
} from './encryption-state.ts';
import {
  applyEncryption,
  encryptionCalls,
  removalCalls,
  removeEncryption,
} from './encryption-steps.ts';
import { isAlias, usesKey } from './kms.ts';
import { statusRefusal } from './refusals.ts';

/** RDS instance identifiers are at most 63 characters. */
const MAX_IDENTIFIER = 63;

export const enableStorageEncryption: Fix = {
  type: TYPE,
  resourceType: 'AwsRdsDbInstance',
  service: 'rds',
  risk: 'high',
  summary:
    'Makes an encrypted copy of an unencrypted RDS instance (snapshot, encrypted copy, ' +
    'restore as a new instance); the original stays until a person cuts over.',
  permissions: [
    'rds:DescribeDBInstances',
    'rds:DescribeDBClusters',
    'rds:DescribeDBSnapshots',
    'rds:CreateDBSnapshot',
    'rds:CopyDBSnapshot',
    'rds:RestoreDBInstanceFromDBSnapshot',
    'rds:AddTagsToResource',
    'rds:DeleteDBInstance',
    'rds:DeleteDBSnapshot',
    'kms:DescribeKey',
    'kms:CreateGrant',
  ],

  title: (resource) => `Create an encrypted copy of RDS instance ${resource.name}`,

  read: readEncryption,

  isCompliant: (state, input) => compliant(parse(state), input),

  refusal(state, input) {
    const s = parse(state);
    if (compliant(s, input)) return null;
    if (s.clusterId !== null) {
      return (
        `DB instance ${s.instance} is a member of Aurora cluster ${s.clusterId}: Aurora ` +
        'storage encryption is set on the cluster when it is created. Restore a cluster ' +
        'snapshot into a new cluster with a KmsKeyId (RestoreDBClusterFromSnapshot); this ' +
        'fix does not handle clusters'
      );
    }
    if (s.replicaSource !== null) {
      return (
        `DB instance ${s.instance} is a read replica of ${s.replicaSource}: a replica is ` +
        `encrypted as its source is. Encrypt ${s.replicaSource} and create new replicas ` +
        'from the encrypted instance; nothing will be changed on the replica'
      );
    }
    // Snapshots leave the original in `backing-up` for a while; a retry may meet it so.
    const status = statusRefusal(s, ['available', 'backing-up']);
    if (status) return status;
    if (s.storageEncrypted === null) {
      return (
        `DescribeDBInstances did not report StorageEncrypted for ${s.instance}; describe it ` +
        'again and re-plan before copying a database that may already be encrypted'
      );
    }
    const name = namesFor(s.instance).encryptedInstance;
    if (name.length > MAX_IDENTIFIER) {
      return (
        `the encrypted instance would be named ${name}, longer than RDS's ` +
        `${MAX_IDENTIFIER} characters; restore it under a shorter name by hand`
      );
    }
    return null;
  },

  target(state, input): State {
    const s = parse(state);
    if (compliant(s, input)) return s;
    const names = namesFor(s.instance);
    const key = input.options.rdsKmsKeyId;
    return {
      ...s,
      sourceSnapshot: {
        id: names.sourceSnapshot,
        status: 'available',
        encrypted: false,
        kmsKeyId: null,
      },
      encryptedSnapshot: {
        id: names.encryptedSnapshot,
        status: 'available',
        encrypted: true,
        kmsKeyId: key,
      },
      encryptedInstance: {
        id: names.encryptedInstance,
        status: 'available',
        encrypted: true,
        kmsKeyId: key,
        deletionProtection: false,
      },
    };
  },

  calls(resource, state, input) {
    const calls = encryptionCalls(parse(state, resource), input);
    return [calls.sourceSnapshot, calls.encryptedSnapshot, calls.encryptedInstance];
  },

  rollbackCalls: (resource, snapshot) => removalCalls(parse(snapshot, resource).instance),

  reversibility: (): Reversibility => ({
    level: 'full',
    note:
      'the original instance is never changed. The rollback deletes the new encrypted ' +
      'instance (without a final snapshot: anything written to it is lost) and both ' +
      'snapshots; the brief I/O pause the first snapshot causes cannot be undone',
  }),

  warnings: (state, input) => warnings(parse(state), input),

  async apply(ctx, resource, state) {
    await applyEncryption(ctx, resource, parse(state, resource));
  },

  async restore(ctx, resource, snapshot) {
    await removeEncryption(ctx, resource, parse(snapshot, resource).instance);
  },

  isRestored(live, snapshot) {
    const now = parse(live);
    const then = parse(snapshot);
    return (
      now.encryptedInstance === null &&
      now.encryptedSnapshot === null &&
      now.sourceSnapshot === null &&
      now.storageEncrypted === then.storageEncrypted &&
      now.kmsKeyId === then.kmsKeyId &&
      isDeepStrictEqual(withoutZone(now), withoutZone(then))
    );
  },

  /**
   * Deleting the copy is safe only while nobody relies on it: the original still runs
   * unencrypted (no cut-over by renaming) and the copy has not been protected.
   */
  isUnchangedSinceFix(live) {
    const s = parse(live);
    return (
      s.storageEncrypted === false &&
      s.encryptedInstance !== null &&
      s.encryptedInstance.deletionProtection !== true
    );
  },
};

function withoutZone(s: EncryptionState) {
  const { availabilityZone: _zone, ...rest } = s.config;
  return rest;
}

/** The original is encrypted, or its encrypted copy is up and uses the configured key. */
function compliant(s: EncryptionState, input: FixInput): boolean {
  if (s.storageEncrypted === true) return true;
  const created = s.encryptedInstance;
  return (
    created !== null &&
    created.status === 'available' &&
    created.encrypted === true &&
    usesKey(input.options.rdsKmsKeyId, created.kmsKeyId, s.encryptedSnapshot?.kmsKeyId ?? null)
  );
}

function warnings(s: EncryptionState, input: FixInput): string[] {
  const names = namesFor(s.instance);
  const key = input.options.rdsKmsKeyId;
  const out = [
    `${s.instance} keeps running unencrypted. ${names.encryptedInstance} is a copy as of the ` +
      `snapshot: writes to ${s.instance} after it are not in the copy. Cut-over is manual: ` +
      'stop writes, move what changed, point applications at the new endpoint (or swap the ' +
      `names), then delete ${s.instance} and the snapshots yourself.`,
    'The fix waits for each step (snapshot, encrypted copy, restore) to be available; ' +
      'large databases take hours. Until cut-over both instances and both snapshots are billed.',
    'Settings a snapshot does not carry and this restore does not set (maintenance window, ' +
      'monitoring, Performance Insights, log exports, IAM database authentication, ' +
      'deletion protection) must be checked on the new instance before cut-over.',
  ];
  if (s.config.multiAZ !== true) {
    out.push(
      `${s.instance} is single-AZ: taking the snapshot suspends its I/O for a few seconds ` +
        'to minutes.',
    );
  }
  if (isAlias(key)) {
    out.push(
      `${key} is an alias: AWS resolves it when the snapshot is copied, and the new instance ` +
        'is checked against the key the copy was encrypted with.',
    );
  }
  if (s.replicas.length > 0) {
    out.push(
      `${s.instance} has read replicas (${s.replicas.join(', ')}); they stay attached to it. ` +
        `Create new ones from ${names.encryptedInstance} at cut-over.`,
    );
  }
  if (s.deletionProtection === true) {
    out.push(
      `${s.instance} has deletion protection; ${names.encryptedInstance} is created without ` +
        'it so that a rollback can delete it. Turn it on at cut-over.',
    );
  }
  const existing = s.encryptedInstance;
  if (existing !== null && !compliant(s, input)) {
    out.push(
      `${existing.id} already exists (${existing.status ?? 'status not reported'}): an ` +
        'earlier attempt of this action that recorded it is resumed; anything else stops ' +
        'the fix before it creates a thing.',
    );
  }
  return out;
}
