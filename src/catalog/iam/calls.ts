import type {
  CreateAccessKeyCommandInput,
  CreateAccessKeyCommandOutput,
  DeleteAccessKeyCommandInput,
  UpdateAccessKeyCommandInput,
} from '@aws-sdk/client-iam';
import type { PlannedCall } from '../../domain/action.ts';
import { AppError } from '../../domain/errors.ts';
import { hasAwsCode } from '../s3/aws-errors.ts';
import type { FixContext } from '../fix.ts';
import { iamSdk } from '../sdk.ts';

/** The IAM error codes the fixes act on. */
export const IAM_ERROR = { noSuchEntity: 'NoSuchEntity' } as const;

export function iamCall(operation: string, parameters: Record<string, unknown>): PlannedCall {
  return { service: 'iam', operation, parameters };
}

export const setStatus = (userName: string, accessKeyId: string, status: 'Active' | 'Inactive') =>
  iamCall('UpdateAccessKey', { UserName: userName, AccessKeyId: accessKeyId, Status: status });

export const deleteKey = (userName: string, accessKeyId: string) =>
  iamCall('DeleteAccessKey', { UserName: userName, AccessKeyId: accessKeyId });

export const createKey = (userName: string) => iamCall('CreateAccessKey', { UserName: userName });

/**
 * Makes one planned call through the SDK, so what runs is what the plan showed. Never
 * logs a response: CreateAccessKey's carries the new secret.
 */
export async function runIamCall(ctx: FixContext, call: PlannedCall): Promise<unknown> {
  const { CreateAccessKeyCommand, DeleteAccessKeyCommand, UpdateAccessKeyCommand } = await iamSdk();
  const client = ctx.clients.iam();
  // The SDK may write into the input it is given, so it gets a copy.
  const p: unknown = structuredClone(call.parameters);
  ctx.log.debug({ operation: call.operation, key: call.parameters.AccessKeyId }, 'calling iam');
  switch (call.operation) {
    case 'UpdateAccessKey':
      return client.send(new UpdateAccessKeyCommand(p as UpdateAccessKeyCommandInput));
    case 'DeleteAccessKey':
      return client.send(new DeleteAccessKeyCommand(p as DeleteAccessKeyCommandInput));
    case 'CreateAccessKey':
      return client.send(new CreateAccessKeyCommand(p as CreateAccessKeyCommandInput));
    default:
      throw new AppError(
        'unsupported',
        `the IAM fixes cannot make a ${call.service}:${call.operation} call; the plan names ` +
          'an operation no fix in this catalog issues, so it was not made',
      );
  }
}

/** Creates a key and returns its id and secret; the secret goes nowhere else. */
export async function createAccessKey(
  ctx: FixContext,
  userName: string,
): Promise<{ accessKeyId: string; secret: string }> {
  const out = (await runIamCall(ctx, createKey(userName))) as CreateAccessKeyCommandOutput;
  const accessKeyId = out.AccessKey?.AccessKeyId;
  const secret = out.AccessKey?.SecretAccessKey;
  if (!accessKeyId || !secret) {
    throw new AppError(
      'unsupported',
      `CreateAccessKey for ${userName} answered without a key id or secret; check the IAM ` +
        'endpoint the product is configured with',
    );
  }
  return { accessKeyId, secret };
}

/** Deletes a key; one that is already gone counts as deleted. */
export async function deleteKeyIfPresent(
  ctx: FixContext,
  userName: string,
  id: string,
): Promise<boolean> {
  try {
    await runIamCall(ctx, deleteKey(userName, id));
    return true;
  } catch (error) {
    if (hasAwsCode(error, IAM_ERROR.noSuchEntity)) return false;
    throw error;
  }
}
