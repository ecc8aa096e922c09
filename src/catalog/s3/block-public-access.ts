import { isDeepStrictEqual } from 'node:util';
import type { PlannedCall, ResourceRef } from '../../domain/action.ts';
import type { Fix, FixContext, State } from '../fix.ts';
import { nullWhenMissing, S3_ERROR } from './aws-errors.ts';
import { badState, bucketOf, isRecord } from './bucket-state.ts';
import { plannedS3Calls, s3Call } from './calls.ts';
import { s3Sdk } from '../sdk.ts';

const TYPE = 's3.block-public-access';

export const PAB_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const;

export type PublicAccessBlock = Record<(typeof PAB_FLAGS)[number], boolean>;

/** The bucket's Block Public Access settings; null when the bucket has none at all. */
export interface PublicAccessState extends State {
  bucket: string;
  publicAccessBlock: PublicAccessBlock | null;
}

const ALL_BLOCKED: PublicAccessBlock = Object.freeze({
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
});

export const blockPublicAccess: Fix = {
  type: TYPE,
  resourceType: 'AwsS3Bucket',
  service: 's3',
  risk: 'medium',
  summary: 'Turns on all four S3 Block Public Access settings for the bucket.',
  // DeletePublicAccessBlock, used by the rollback, is authorised by the Put action.
  permissions: ['s3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],

  title: (resource) => `Block public access on bucket ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<PublicAccessState> {
    const { GetPublicAccessBlockCommand } = await s3Sdk();
    const client = ctx.clients.s3(resource.region);
    const out = await nullWhenMissing(S3_ERROR.noPublicAccessBlock, () =>
      client.send(new GetPublicAccessBlockCommand({ Bucket: resource.name })),
    );
    const config = out?.PublicAccessBlockConfiguration;
    // S3 treats a flag it does not report as off.
    const flags = (c: NonNullable<typeof config>): PublicAccessBlock => ({
      BlockPublicAcls: c.BlockPublicAcls ?? false,
      IgnorePublicAcls: c.IgnorePublicAcls ?? false,
      BlockPublicPolicy: c.BlockPublicPolicy ?? false,
      RestrictPublicBuckets: c.RestrictPublicBuckets ?? false,
    });
    return { bucket: resource.name, publicAccessBlock: config ? flags(config) : null };
  },

  isCompliant: (state) => isBlocked(parse(state)),

  target(state) {
    const parsed = parse(state);
    if (isBlocked(parsed)) return parsed;
    return { bucket: parsed.bucket, publicAccessBlock: { ...ALL_BLOCKED } };
  },

  ...plannedS3Calls(plannedCalls, plannedRollback),

  reversibility: () => ({ level: 'full' }),

  warnings: () => [
    'Blocking public access breaks anything that relies on public ACLs or bucket policies: ' +
      'static websites, anonymous downloads and public links stop working at once.',
  ],

  isRestored: (live, snapshot) =>
    isDeepStrictEqual(parse(live).publicAccessBlock, parse(snapshot).publicAccessBlock),
};

function isBlocked({ publicAccessBlock }: PublicAccessState): boolean {
  return publicAccessBlock !== null && PAB_FLAGS.every((flag) => publicAccessBlock[flag]);
}

function plannedCalls(resource: ResourceRef, state: State): PlannedCall[] {
  if (isBlocked(parse(state, resource))) return [];
  return [putBlock(resource.name, ALL_BLOCKED)];
}

/** Deletes the settings when the bucket had none, else puts the four old values back. */
function plannedRollback(resource: ResourceRef, snapshot: State): PlannedCall[] {
  const { publicAccessBlock } = parse(snapshot, resource);
  if (publicAccessBlock === null) {
    return [s3Call('DeletePublicAccessBlock', { Bucket: resource.name })];
  }
  return [putBlock(resource.name, publicAccessBlock)];
}

function putBlock(bucket: string, flags: PublicAccessBlock): PlannedCall {
  return s3Call('PutPublicAccessBlock', {
    Bucket: bucket,
    PublicAccessBlockConfiguration: { ...flags },
  });
}

function parse(state: State, resource: ResourceRef | null = null): PublicAccessState {
  const bucket = bucketOf(state, resource, TYPE);
  const block = state.publicAccessBlock;
  if (block === null) return { bucket, publicAccessBlock: null };
  if (!isRecord(block)) {
    throw badState(TYPE, 'publicAccessBlock', block, 'null or the four Block Public Access flags');
  }
  const flags = {} as PublicAccessBlock;
  for (const flag of PAB_FLAGS) {
    const value = block[flag];
    if (typeof value !== 'boolean') {
      throw badState(TYPE, `publicAccessBlock.${flag}`, value, 'true or false');
    }
    flags[flag] = value;
  }
  return { bucket, publicAccessBlock: flags };
}
