import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import type { Fix, FixContext, State } from '../fix.ts';
import { badState, bucketOf } from './bucket-state.ts';
import { plannedS3Calls, s3Call } from './calls.ts';
import { s3Sdk } from '../sdk.ts';

const TYPE = 's3.enable-versioning';

export type VersioningStatus = 'Enabled' | 'Suspended';

/** The bucket's versioning status; null for a bucket that was never versioned. */
export interface VersioningState extends State {
  bucket: string;
  versioning: VersioningStatus | null;
}

const NEVER_VERSIONED_NOTE =
  'versioning can only be suspended, never unset; objects written meanwhile keep their ' +
  'versions. The rollback suspends versioning, which stops new versions but does not ' +
  'return the bucket to its never-versioned state';

export const enableVersioning: Fix = {
  type: TYPE,
  resourceType: 'AwsS3Bucket',
  service: 's3',
  risk: 'low',
  summary: 'Turns on S3 versioning so overwritten and deleted objects can be recovered.',
  permissions: ['s3:GetBucketVersioning', 's3:PutBucketVersioning'],

  title: (resource) => `Enable versioning on bucket ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<VersioningState> {
    const { GetBucketVersioningCommand } = await s3Sdk();
    const client = ctx.clients.s3(resource.region);
    // A never-versioned bucket answers an empty configuration, not an error.
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: resource.name }));
    return { bucket: resource.name, versioning: statusOf(out.Status ?? null, 'Status') };
  },

  isCompliant: (state) => parse(state).versioning === 'Enabled',

  target(state) {
    const parsed = parse(state);
    return { bucket: parsed.bucket, versioning: 'Enabled' };
  },

  ...plannedS3Calls(plannedCalls, plannedRollback),

  reversibility(state): Reversibility {
    if (parse(state).versioning === null) return { level: 'partial', note: NEVER_VERSIONED_NOTE };
    return { level: 'full' };
  },

  warnings: () => [
    'Every overwrite and delete keeps the previous object version, so storage (and its cost) ' +
      'grows until a lifecycle rule expires noncurrent versions.',
  ],

  isRestored(live, snapshot) {
    const now = parse(live).versioning;
    const then = parse(snapshot).versioning;
    // Once enabled, the closest a bucket gets to never-versioned is Suspended.
    if (then === null) return now === null || now === 'Suspended';
    return now === then;
  },
};

function plannedCalls(resource: ResourceRef, state: State): PlannedCall[] {
  if (parse(state, resource).versioning === 'Enabled') return [];
  return [putVersioning(resource.name, 'Enabled')];
}

/** Suspends versioning unless the snapshot had it enabled; it can never be unset. */
function plannedRollback(resource: ResourceRef, snapshot: State): PlannedCall[] {
  const { versioning } = parse(snapshot, resource);
  return [putVersioning(resource.name, versioning === 'Enabled' ? 'Enabled' : 'Suspended')];
}

function putVersioning(bucket: string, status: VersioningStatus): PlannedCall {
  return s3Call('PutBucketVersioning', {
    Bucket: bucket,
    VersioningConfiguration: { Status: status },
  });
}

function statusOf(value: unknown, field: string): VersioningStatus | null {
  if (value === null || value === 'Enabled' || value === 'Suspended') return value;
  throw badState(TYPE, field, value, '"Enabled", "Suspended" or null');
}

function parse(state: State, resource: ResourceRef | null = null): VersioningState {
  const bucket = bucketOf(state, resource, TYPE);
  return { bucket, versioning: statusOf(state.versioning, 'versioning') };
}
