import { list, type XmlValue } from '../query/xml.ts';
import { ec2Error } from './errors.ts';
import { applyFilters, type FilterFields, paginate, readFilters } from './filters.ts';
import { type Ec2Region, type Instance, INSTANCE_ID, newId } from './model.ts';
import {
  checkDryRun,
  type Ec2Operation,
  groupById,
  groupByName,
  record,
  tagsFor,
  tagSpecsJson,
} from './request.ts';
import { groupSet, instanceXml, stateXml } from './xml.ts';

const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
/** More than a test or demo needs; keeps a typo from creating thousands. */
const MAX_PER_CALL = 50;

export const runInstances: Ec2Operation = (deps, region, p, raw) => {
  const token = p.str('ClientToken') ?? null;
  const earlier = token
    ? [...region.instances.values()].filter((i) => i.clientToken === token)
    : [];
  // A retried call with the same client token gets the first call's instances back.
  if (earlier.length > 0) return reservationXml(region, earlier);

  const imageId = p.str('ImageId');
  if (!imageId) throw ec2Error.missingParameter('ImageId');
  if (!AMI_ID.test(imageId)) throw ec2Error.amiMalformed(imageId);
  const min = p.int('MinCount');
  const max = p.int('MaxCount');
  if (min === undefined) throw ec2Error.missingParameter('MinCount');
  if (max === undefined) throw ec2Error.missingParameter('MaxCount');
  if (min < 1 || max < min || max > MAX_PER_CALL) {
    throw ec2Error.invalidParameter(
      `MinCount (${min}) and MaxCount (${max}) must satisfy ` +
        `1 <= MinCount <= MaxCount <= ${MAX_PER_CALL}`,
    );
  }
  const groups = [
    ...p.strings('SecurityGroupId').map((id) => groupById(region, id)),
    ...p.strings('SecurityGroup').map((name) => groupByName(region, name)),
  ];
  const vpcs = new Set(groups.map((g) => g.vpcId));
  if (vpcs.size > 1) {
    throw ec2Error.invalidParameter('The security groups given belong to different VPCs');
  }
  const subnetId = p.str('SubnetId') ?? null;
  if (subnetId !== null && !SUBNET_ID.test(subnetId)) {
    throw ec2Error.invalidParameter(`Invalid id: "${subnetId}" (expecting "subnet-...")`);
  }
  const shutdown = p.str('InstanceInitiatedShutdownBehavior') ?? 'stop';
  if (shutdown !== 'stop' && shutdown !== 'terminate') {
    throw ec2Error.invalidParameter(
      `Value (${shutdown}) for parameter instanceInitiatedShutdownBehavior is invalid`,
    );
  }
  const tags = tagsFor(raw, 'instance');
  checkDryRun(p);

  const reservationId = newId('r');
  const launchTime = deps.ctx.now().toISOString();
  const created: Instance[] = [];
  for (let n = 0; n < max; n += 1) {
    const instance: Instance = {
      id: newId('i'),
      reservationId,
      imageId,
      instanceType: p.str('InstanceType') ?? 'm1.small',
      state: 'running',
      launchTime,
      vpcId: groups[0]?.vpcId ?? region.defaultVpcId,
      subnetId,
      privateIpAddress: `10.0.${Math.floor(Math.random() * 250)}.${10 + n}`,
      groupIds: groups.map((g) => g.id),
      tags: tags.map((t) => ({ ...t })),
      disableApiTermination: p.bool('DisableApiTermination') ?? false,
      disableApiStop: p.bool('DisableApiStop') ?? false,
      shutdownBehavior: shutdown,
      clientToken: token,
    };
    region.instances.set(instance.id, instance);
    created.push(instance);
  }
  const specs = tagSpecsJson(raw);
  record(deps, region, 'RunInstances', created.map((i) => i.id).join(','), {
    ImageId: imageId,
    MinCount: min,
    MaxCount: max,
    ...optional('InstanceType', p.str('InstanceType')),
    ...(p.strings('SecurityGroupId').length
      ? { SecurityGroupIds: p.strings('SecurityGroupId') }
      : {}),
    ...(p.strings('SecurityGroup').length ? { SecurityGroups: p.strings('SecurityGroup') } : {}),
    ...optional('SubnetId', subnetId ?? undefined),
    ...optional('DisableApiTermination', p.bool('DisableApiTermination')),
    ...optional('InstanceInitiatedShutdownBehavior', p.str('InstanceInitiatedShutdownBehavior')),
    ...(specs.length ? { TagSpecifications: specs } : {}),
    ...optional('ClientToken', token ?? undefined),
  });
  // RunInstances reports instances as pending; they are running by the next describe.
  return reservationXml(region, created, 'pending');
};

const optional = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });

function reservationXml(
  region: Ec2Region,
  instances: readonly Instance[],
  state?: Instance['state'],
): XmlValue {
  const first = instances[0] as Instance;
  return {
    reservationId: first.reservationId,
    ownerId: region.account,
    groupSet: groupSet(region, first.groupIds),
    instancesSet: list(
      'item',
      instances.map((i) => instanceXml(region, state ? { ...i, state } : i)),
    ),
  };
}

function checkInstanceId(id: string): string {
  if (!INSTANCE_ID.test(id)) throw ec2Error.instanceIdMalformed(id);
  return id;
}

/** The instances named, all of which must exist. */
export function instancesById(region: Ec2Region, ids: readonly string[]): Instance[] {
  ids.forEach(checkInstanceId);
  const missing = ids.filter((id) => !region.instances.has(id));
  if (missing.length > 0) throw ec2Error.instanceNotFound(missing);
  return ids.map((id) => region.instances.get(id) as Instance);
}

const INSTANCE_FILTERS: FilterFields<Instance> = {
  'instance-id': (i) => [i.id],
  'instance-state-name': (i) => [i.state],
  'instance-type': (i) => [i.instanceType],
  'image-id': (i) => [i.imageId],
  'vpc-id': (i) => [i.vpcId],
  'subnet-id': (i) => (i.subnetId ? [i.subnetId] : []),
  'instance.group-id': (i) => i.groupIds,
  'reservation-id': (i) => [i.reservationId],
};

export const describeInstances: Ec2Operation = (deps, region, p, raw) => {
  const ids = p.strings('InstanceId');
  let instances = ids.length > 0 ? instancesById(region, ids) : [...region.instances.values()];
  instances = applyFilters(instances, readFilters(raw), INSTANCE_FILTERS, (i) => i.tags);
  const { page, nextToken } = paginate(instances, p.int('MaxResults'), p.str('NextToken'));
  const reservations = new Map<string, Instance[]>();
  for (const i of page)
    reservations.set(i.reservationId, [...(reservations.get(i.reservationId) ?? []), i]);
  return {
    reservationSet: list(
      'item',
      [...reservations.values()].map((group) => reservationXml(region, group)),
    ),
    nextToken,
  };
};

/** Refused whole when any instance named is protected, as EC2 does. */
export const terminateInstances: Ec2Operation = (deps, region, p) => {
  const ids = p.strings('InstanceId');
  if (ids.length === 0) throw ec2Error.missingParameter('InstanceId');
  const instances = instancesById(region, ids);
  const protectedOne = instances.find((i) => i.disableApiTermination && i.state !== 'terminated');
  if (protectedOne) throw ec2Error.terminationProtected(protectedOne.id);
  checkDryRun(p);
  const changes = instances.map((i) => {
    const previous = i.state;
    i.state = 'terminated';
    return {
      instanceId: i.id,
      currentState: stateXml(previous === 'terminated' ? 'terminated' : 'shutting-down'),
      previousState: stateXml(previous),
    };
  });
  record(deps, region, 'TerminateInstances', ids.join(','), { InstanceIds: ids });
  return { instancesSet: list('item', changes) };
};
