import type {
  AuthorizeSecurityGroupIngressCommandInput,
  ModifyInstanceAttributeCommandInput,
  RevokeSecurityGroupIngressCommandInput,
  RevokeSecurityGroupIngressCommandOutput,
} from '@aws-sdk/client-ec2';
import type { PlannedCall, ResourceRef } from '../../domain/action.ts';
import { AppError } from '../../domain/errors.ts';
import type { FixContext } from '../fix.ts';
import { ec2Sdk } from '../sdk.ts';

export function ec2Call(operation: string, parameters: Record<string, unknown>): PlannedCall {
  return { service: 'ec2', operation, parameters };
}

/** What a call answered; the revoke's answer says which rules EC2 did not know. */
export type Ec2CallOutput = Partial<RevokeSecurityGroupIngressCommandOutput>;

/**
 * Makes one planned call through the SDK, so what runs is exactly what the plan showed.
 * A refusal propagates unchanged, with EC2's code.
 */
export async function runEc2Call(
  ctx: FixContext,
  resource: ResourceRef,
  call: PlannedCall,
): Promise<Ec2CallOutput> {
  const {
    AuthorizeSecurityGroupIngressCommand,
    ModifyInstanceAttributeCommand,
    RevokeSecurityGroupIngressCommand,
  } = await ec2Sdk();
  const client = ctx.clients.ec2(resource.region);
  // The SDK may write into the input it is given, so it gets a copy.
  const p: unknown = structuredClone(call.parameters);
  ctx.log.debug({ operation: call.operation, resource: resource.name }, 'calling ec2');
  switch (call.operation) {
    case 'RevokeSecurityGroupIngress':
      return client.send(
        new RevokeSecurityGroupIngressCommand(p as RevokeSecurityGroupIngressCommandInput),
      );
    case 'AuthorizeSecurityGroupIngress':
      return client.send(
        new AuthorizeSecurityGroupIngressCommand(p as AuthorizeSecurityGroupIngressCommandInput),
      );
    case 'ModifyInstanceAttribute':
      return client.send(
        new ModifyInstanceAttributeCommand(p as ModifyInstanceAttributeCommandInput),
      );
    default:
      throw new AppError(
        'unsupported',
        `the EC2 fixes cannot make a ${call.service}:${call.operation} call; the plan names ` +
          'an operation no fix in this catalog issues, so it was not made',
      );
  }
}
