import type {
  CopyDBSnapshotCommandInput,
  CreateDBSnapshotCommandInput,
  DeleteDBInstanceCommandInput,
  DeleteDBSnapshotCommandInput,
  ModifyDBInstanceCommandInput,
  RestoreDBInstanceFromDBSnapshotCommandInput,
} from '@aws-sdk/client-rds';
import type { PlannedCall } from '../../domain/action.ts';
import { AppError } from '../../domain/errors.ts';
import type { FixContext } from '../fix.ts';
import { rdsSdk } from '../sdk.ts';

export function rdsCall(operation: string, parameters: Record<string, unknown>): PlannedCall {
  return { service: 'rds', operation, parameters };
}

/**
 * Makes one planned call through the SDK, exactly as the plan states it. The SDK retries
 * throttling and 5xx answers; anything else reaches the caller as the SDK raised it.
 */
export async function runRdsCall(
  ctx: FixContext,
  region: string,
  call: PlannedCall,
): Promise<void> {
  const sdk = await rdsSdk();
  const client = ctx.clients.rds(region);
  // The SDK may write into the input it is given, so it gets a copy of the plan's.
  const p: unknown = structuredClone(call.parameters);
  ctx.log.debug({ operation: call.operation, parameters: call.parameters }, 'calling rds');
  switch (call.operation) {
    case 'ModifyDBInstance':
      await client.send(new sdk.ModifyDBInstanceCommand(p as ModifyDBInstanceCommandInput));
      return;
    case 'CreateDBSnapshot':
      await client.send(new sdk.CreateDBSnapshotCommand(p as CreateDBSnapshotCommandInput));
      return;
    case 'CopyDBSnapshot':
      await client.send(new sdk.CopyDBSnapshotCommand(p as CopyDBSnapshotCommandInput));
      return;
    case 'RestoreDBInstanceFromDBSnapshot':
      await client.send(
        new sdk.RestoreDBInstanceFromDBSnapshotCommand(
          p as RestoreDBInstanceFromDBSnapshotCommandInput,
        ),
      );
      return;
    case 'DeleteDBInstance':
      await client.send(new sdk.DeleteDBInstanceCommand(p as DeleteDBInstanceCommandInput));
      return;
    case 'DeleteDBSnapshot':
      await client.send(new sdk.DeleteDBSnapshotCommand(p as DeleteDBSnapshotCommandInput));
      return;
    default:
      throw new AppError(
        'unsupported',
        `the RDS fixes cannot make a ${call.service}:${call.operation} call; the plan names ` +
          'an operation no fix in this catalog issues, so it was not made',
      );
  }
}
