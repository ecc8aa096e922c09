import type {
  DeleteBucketEncryptionCommandInput,
  DeletePublicAccessBlockCommandInput,
  PutBucketEncryptionCommandInput,
  PutBucketVersioningCommandInput,
  PutPublicAccessBlockCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import type { PlannedCall, ResourceRef } from '../../domain/action.ts';
import { AppError } from '../../domain/errors.ts';
import type { Fix, FixContext, State } from '../fix.ts';
import { s3Sdk } from '../sdk.ts';

export function s3Call(operation: string, parameters: Record<string, unknown>): PlannedCall {
  return { service: 's3', operation, parameters };
}

/**
 * Makes the planned calls in order, through the SDK, so what runs is exactly what the
 * plan showed the reviewer. The first refusal stops the run and propagates unchanged.
 */
export async function runS3Calls(
  ctx: FixContext,
  resource: ResourceRef,
  calls: readonly PlannedCall[],
): Promise<void> {
  const client = ctx.clients.s3(resource.region);
  for (const call of calls) {
    ctx.log.debug({ operation: call.operation, bucket: resource.name }, 'calling s3');
    await send(client, call);
  }
}

type Planner = (resource: ResourceRef, state: State) => PlannedCall[];

/** The members of an S3 fix that plan its calls and make them, both from the same planners. */
export function plannedS3Calls(
  planned: Planner,
  rollback: Planner,
): Pick<Fix, 'calls' | 'rollbackCalls' | 'apply' | 'restore'> {
  return {
    calls: (resource, state) => planned(resource, state),
    rollbackCalls: (resource, snapshot) => rollback(resource, snapshot),
    async apply(ctx, resource, state) {
      await runS3Calls(ctx, resource, planned(resource, state));
    },
    async restore(ctx, resource, snapshot) {
      await runS3Calls(ctx, resource, rollback(resource, snapshot));
    },
  };
}

async function send(client: S3Client, call: PlannedCall): Promise<unknown> {
  const sdk = await s3Sdk();
  // The SDK writes into the input it is given (ChecksumAlgorithm), so it gets a copy.
  const p: unknown = structuredClone(call.parameters);
  switch (call.operation) {
    case 'PutBucketEncryption':
      return client.send(new sdk.PutBucketEncryptionCommand(p as PutBucketEncryptionCommandInput));
    case 'DeleteBucketEncryption':
      return client.send(
        new sdk.DeleteBucketEncryptionCommand(p as DeleteBucketEncryptionCommandInput),
      );
    case 'PutPublicAccessBlock':
      return client.send(
        new sdk.PutPublicAccessBlockCommand(p as PutPublicAccessBlockCommandInput),
      );
    case 'DeletePublicAccessBlock':
      return client.send(
        new sdk.DeletePublicAccessBlockCommand(p as DeletePublicAccessBlockCommandInput),
      );
    case 'PutBucketVersioning':
      return client.send(new sdk.PutBucketVersioningCommand(p as PutBucketVersioningCommandInput));
    default:
      throw new AppError(
        'unsupported',
        `the S3 fixes cannot make a ${call.service}:${call.operation} call; the plan names ` +
          'an operation no fix in this catalog issues, so it was not made',
      );
  }
}
