import type { PlannedCall, ResourceRef } from '../../domain/action.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { Fix, FixContext, State } from '../fix.ts';
import { ec2Call, runEc2Call } from './calls.ts';
import { isRecord } from './ingress-state.ts';
import { ec2Sdk } from '../sdk.ts';

const TYPE = 'ec2.enable-termination-protection';

/** What the fix reads about an instance; only the protection flag is ever changed. */
export interface ProtectionState extends State {
  instanceId: string;
  disableApiTermination: boolean;
  /** Shutting down or terminated: there is nothing left to protect. */
  terminated: boolean;
  /** What an operating-system shutdown does: `terminate` ends the instance regardless. */
  shutdownBehavior: 'stop' | 'terminate';
  /** The Auto Scaling group the instance belongs to, which may still terminate it. */
  autoScalingGroup: string | null;
}

export const enableTerminationProtection: Fix = {
  type: TYPE,
  resourceType: 'AwsEc2Instance',
  service: 'ec2',
  risk: 'low',
  summary: 'Turns on termination protection (DisableApiTermination) for an EC2 instance.',
  permissions: [
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceAttribute',
    'ec2:ModifyInstanceAttribute',
  ],

  title: (resource) => `Enable termination protection on instance ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<ProtectionState> {
    const { DescribeInstanceAttributeCommand, DescribeInstancesCommand } = await ec2Sdk();
    const instanceId = instanceIdOf(resource);
    const client = ctx.clients.ec2(resource.region);
    const described = await client.send(
      new DescribeInstancesCommand({ InstanceIds: [instanceId] }),
    );
    const instance = described.Reservations?.flatMap((r) => r.Instances ?? []).find(
      (i) => i.InstanceId === instanceId,
    );
    if (!instance) {
      throw invalidInput(
        `DescribeInstances answered without instance ${instanceId}; nothing was changed`,
      );
    }
    const attribute = (name: 'disableApiTermination' | 'instanceInitiatedShutdownBehavior') =>
      client.send(
        new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: name }),
      );
    const protection = await attribute('disableApiTermination');
    const shutdown = await attribute('instanceInitiatedShutdownBehavior');
    const state = instance.State?.Name;
    return parse({
      instanceId,
      disableApiTermination: protection.DisableApiTermination?.Value,
      terminated: state === 'terminated' || state === 'shutting-down',
      shutdownBehavior: shutdown.InstanceInitiatedShutdownBehavior?.Value,
      autoScalingGroup:
        instance.Tags?.find((t) => t.Key === 'aws:autoscaling:groupName')?.Value ?? null,
    });
  },

  isCompliant: (state) => parse(state).disableApiTermination,

  target: (state) => ({ ...parse(state), disableApiTermination: true }),

  refusal(state) {
    const { instanceId, terminated } = parse(state);
    return terminated
      ? `instance ${instanceId} is terminated or shutting down; there is nothing left to ` +
          'protect, and EC2 refuses to change its attributes'
      : null;
  },

  calls: (resource, state) =>
    parse(state, resource).disableApiTermination ? [] : [setProtection(resource, true)],

  rollbackCalls: (resource, snapshot) => [
    setProtection(resource, parse(snapshot, resource).disableApiTermination),
  ],

  reversibility: () => ({ level: 'full' }),

  warnings(state) {
    const { autoScalingGroup, shutdownBehavior } = parse(state);
    const warnings = [
      'TerminateInstances calls (console, CLI, API, CloudFormation stack deletes, terraform ' +
        'destroy) fail for this instance until the protection is turned off again.',
    ];
    if (autoScalingGroup) {
      warnings.push(
        `The instance belongs to Auto Scaling group ${autoScalingGroup}: termination ` +
          'protection does not stop scale-in or health-check replacement from terminating it.',
      );
    }
    if (shutdownBehavior === 'terminate') {
      warnings.push(
        "The instance's shutdown behaviour is terminate: a shutdown from inside the instance " +
          'still terminates it, protection or not.',
      );
    }
    return warnings;
  },

  async apply(ctx, resource, state) {
    if (parse(state, resource).disableApiTermination) return;
    await runEc2Call(ctx, resource, setProtection(resource, true));
  },

  async restore(ctx, resource, snapshot) {
    const value = parse(snapshot, resource).disableApiTermination;
    await runEc2Call(ctx, resource, setProtection(resource, value));
  },

  isRestored: (live, snapshot) =>
    parse(live).disableApiTermination === parse(snapshot).disableApiTermination,

  // Only the flag is the fix's: a stop, a start or a new shutdown behaviour is no reason to refuse.
  isUnchangedSinceFix: (live) => parse(live).disableApiTermination,
};

function setProtection(resource: ResourceRef, value: boolean): PlannedCall {
  return ec2Call('ModifyInstanceAttribute', {
    InstanceId: instanceIdOf(resource),
    DisableApiTermination: { Value: value },
  });
}

/** The instance id: the resource's name, or else the end of its ARN (`...:instance/i-...`). */
function instanceIdOf(resource: ResourceRef): string {
  const id = [resource.name, /:instance\/(i-[0-9a-f]+)$/.exec(resource.id)?.[1]].find(
    (candidate) => candidate !== undefined && /^i-[0-9a-f]{8,17}$/.test(candidate),
  );
  if (!id) {
    throw invalidInput(
      `${TYPE} acts on instances named by id (i-...), but the resource is named ` +
        `"${resource.name}" (${resource.id}); import the finding with the instance's ARN or id`,
    );
  }
  return id;
}

/**
 * A boolean as AWS outputs show it: `true`, `"false"` (the CLI's documented output
 * quotes it), `{ "Value": false }` as DescribeInstanceAttribute nests it, or missing,
 * which EC2 treats as false.
 */
export function flagOf(raw: unknown, field: string): boolean {
  const value = isRecord(raw) ? raw.Value : raw;
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^\s*(true|false)\s*$/i.test(value)) {
    return value.trim().toLowerCase() === 'true';
  }
  throw badState(field, raw, 'true or false');
}

function parse(state: State, resource: ResourceRef | null = null): ProtectionState {
  const { instanceId } = state;
  if (typeof instanceId !== 'string' || instanceId === '') {
    throw badState('instanceId', instanceId, 'an instance id');
  }
  if (resource && instanceIdOf(resource) !== instanceId) {
    throw invalidInput(
      `${TYPE}: the state describes instance ${instanceId} but the action is for ` +
        `${resource.name}; nothing was changed`,
    );
  }
  const shutdown = isRecord(state.shutdownBehavior)
    ? state.shutdownBehavior.Value
    : state.shutdownBehavior;
  if (
    shutdown !== undefined &&
    shutdown !== null &&
    shutdown !== 'stop' &&
    shutdown !== 'terminate'
  ) {
    throw badState('shutdownBehavior', shutdown, '"stop" or "terminate"');
  }
  const group = state.autoScalingGroup ?? null;
  if (group !== null && typeof group !== 'string')
    throw badState('autoScalingGroup', group, 'a name or null');
  return {
    instanceId,
    disableApiTermination: flagOf(state.disableApiTermination, 'disableApiTermination'),
    terminated: flagOf(state.terminated, 'terminated'),
    shutdownBehavior: shutdown === 'terminate' ? 'terminate' : 'stop',
    autoScalingGroup: group,
  };
}

function badState(field: string, value: unknown, expected: string) {
  return invalidInput(
    `${TYPE}: state field "${field}" must be ${expected}, got ${JSON.stringify(value)}; ` +
      'the state was not produced by this fix, so it cannot be used',
  );
}
