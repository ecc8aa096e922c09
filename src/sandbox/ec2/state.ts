import { SandboxInputError } from '../api-error.ts';
import type { StateDocument } from '../types.ts';
import {
  defaultVpcOf,
  type Ec2Region,
  GROUP_ID,
  INSTANCE_ID,
  type Instance,
  type InstanceStateName,
  type SecurityGroup,
  STATE_CODES,
  stableId,
  type Tag,
  VPC_ID,
} from './model.ts';
import {
  type IpPermissionJson,
  listPermissions,
  type Rule,
  ruleKey,
  rulesOf,
} from './permissions.ts';

/**
 * The `ec2` slice of a region in the state document. Security groups and instances are
 * written in the shapes DescribeSecurityGroups and DescribeInstances return, so a
 * recorded response can be pasted in as a starting state.
 */
export interface Ec2StateJson {
  defaultVpcId?: string;
  securityGroups?: Record<string, unknown>[];
  instances?: Record<string, unknown>[];
}

export function loadRegions(doc: StateDocument, now: Date): Ec2Region[] {
  const regions: Ec2Region[] = [];
  for (const [account, acct] of Object.entries(doc.accounts)) {
    for (const [region, reg] of Object.entries(acct.regions ?? {})) {
      if (reg.ec2 === undefined) continue;
      regions.push(loadRegion(reg.ec2, account, region, now));
    }
  }
  return regions;
}

function loadRegion(raw: unknown, account: string, region: string, now: Date): Ec2Region {
  const where = `accounts.${account}.regions.${region}.ec2`;
  if (!isObject(raw)) throw new SandboxInputError(`${where} must be an object`);
  const vpc = raw.defaultVpcId ?? defaultVpcOf(account, region);
  if (typeof vpc !== 'string' || !VPC_ID.test(vpc)) {
    throw new SandboxInputError(
      `${where}.defaultVpcId must be a VPC id (vpc-...), got ${show(vpc)}`,
    );
  }
  const out: Ec2Region = {
    account,
    region,
    defaultVpcId: vpc,
    groups: new Map(),
    instances: new Map(),
  };
  const groups = listAt(raw, 'securityGroups', where);
  // Groups first, without rules, so rules may reference any group in the region.
  const parsed = groups.map((g, i) => groupShell(g, `${where}.securityGroups[${i}]`, out));
  for (const { group, at } of parsed) {
    if (out.groups.has(group.id))
      throw new SandboxInputError(`${at}: group ${group.id} is listed twice`);
    out.groups.set(group.id, group);
  }
  for (const { group, at, json } of parsed) group.rules = groupRules(json, group, out, at);
  listAt(raw, 'instances', where).forEach((inst, i) => {
    const instance = parseInstance(inst, `${where}.instances[${i}]`, out, now);
    if (out.instances.has(instance.id)) {
      throw new SandboxInputError(
        `${where}.instances[${i}]: instance ${instance.id} is listed twice`,
      );
    }
    out.instances.set(instance.id, instance);
  });
  return out;
}

function groupShell(raw: unknown, at: string, region: Ec2Region) {
  if (!isObject(raw)) throw new SandboxInputError(`${at} must be an object`);
  const id = raw.GroupId;
  if (typeof id !== 'string' || !GROUP_ID.test(id)) {
    throw new SandboxInputError(
      `${at}.GroupId must be a security group id (sg-...), got ${show(id)}`,
    );
  }
  const vpcId = raw.VpcId ?? region.defaultVpcId;
  if (typeof vpcId !== 'string' || !VPC_ID.test(vpcId)) {
    throw new SandboxInputError(`${at}.VpcId must be a VPC id (vpc-...), got ${show(vpcId)}`);
  }
  const group: SecurityGroup = {
    id,
    name: text(raw.GroupName, `${at}.GroupName`),
    description: text(raw.Description ?? raw.GroupDescription ?? '', `${at}.Description`, true),
    vpcId,
    ownerId: text(raw.OwnerId ?? region.account, `${at}.OwnerId`),
    tags: tags(raw.Tags, `${at}.Tags`),
    rules: [],
  };
  return { group, at, json: raw };
}

function groupRules(
  raw: Record<string, unknown>,
  group: SecurityGroup,
  region: Ec2Region,
  at: string,
): Rule[] {
  const rules: Rule[] = [];
  const seen = new Set<string>();
  for (const [field, egress] of [
    ['IpPermissions', false],
    ['IpPermissionsEgress', true],
  ] as const) {
    listAt(raw, field, at).forEach((perm, i) => {
      const where = `${at}.${field}[${i}]`;
      if (!isObject(perm)) throw new SandboxInputError(`${where} must be an object`);
      const specs = rulesOf(perm as unknown as IpPermissionJson, {
        egress,
        strictDescriptions: false,
        invalid: (message) => new SandboxInputError(`${where}: ${message}`),
        resolvePair: (pair) => {
          const byName =
            pair.GroupName && !pair.GroupId
              ? [...region.groups.values()].find(
                  (g) => g.name === pair.GroupName && g.vpcId === group.vpcId,
                )
              : undefined;
          const groupId = pair.GroupId ?? byName?.id;
          if (!groupId) {
            throw new SandboxInputError(`${where}: a group pair names no GroupId (${show(pair)})`);
          }
          return { groupId, userId: pair.UserId ?? group.ownerId };
        },
      });
      for (const spec of specs) {
        const key = ruleKey(spec);
        // DescribeSecurityGroups may repeat a source across permissions; EC2 holds it once.
        if (seen.has(key)) continue;
        seen.add(key);
        rules.push({ id: stableId('sgr', `${group.id}|${key}`), ...spec });
      }
    });
  }
  return rules;
}

const STATES = Object.keys(STATE_CODES) as InstanceStateName[];

function parseInstance(raw: unknown, at: string, region: Ec2Region, now: Date): Instance {
  if (!isObject(raw)) throw new SandboxInputError(`${at} must be an object`);
  const id = raw.InstanceId;
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) {
    throw new SandboxInputError(`${at}.InstanceId must be an instance id (i-...), got ${show(id)}`);
  }
  const stateRaw = isObject(raw.State) ? raw.State.Name : (raw.State ?? 'running');
  if (!STATES.includes(stateRaw as InstanceStateName)) {
    throw new SandboxInputError(
      `${at}.State must be one of ${STATES.join(', ')}, got ${show(stateRaw)}`,
    );
  }
  const groups = raw.SecurityGroups ?? [];
  if (
    !Array.isArray(groups) ||
    !groups.every((g) => isObject(g) && typeof g.GroupId === 'string')
  ) {
    throw new SandboxInputError(`${at}.SecurityGroups must be a list of { "GroupId": "sg-..." }`);
  }
  const shutdown = attributeValue(raw.InstanceInitiatedShutdownBehavior) ?? 'stop';
  if (shutdown !== 'stop' && shutdown !== 'terminate') {
    throw new SandboxInputError(
      `${at}.InstanceInitiatedShutdownBehavior must be "stop" or "terminate", ` +
        `got ${show(shutdown)}`,
    );
  }
  return {
    id,
    reservationId: text(raw.ReservationId ?? stableId('r', id), `${at}.ReservationId`),
    imageId: text(raw.ImageId ?? 'ami-0abcdef1234567890', `${at}.ImageId`),
    instanceType: text(raw.InstanceType ?? 't3.micro', `${at}.InstanceType`),
    state: stateRaw as InstanceStateName,
    launchTime: timeOf(raw.LaunchTime, `${at}.LaunchTime`) ?? now.toISOString(),
    vpcId: text(raw.VpcId ?? region.defaultVpcId, `${at}.VpcId`),
    subnetId: raw.SubnetId === undefined ? null : text(raw.SubnetId, `${at}.SubnetId`),
    privateIpAddress: text(raw.PrivateIpAddress ?? '10.0.0.10', `${at}.PrivateIpAddress`),
    groupIds: groups.map((g) => (g as { GroupId: string }).GroupId),
    tags: tags(raw.Tags, `${at}.Tags`),
    disableApiTermination: flag(raw.DisableApiTermination, `${at}.DisableApiTermination`),
    disableApiStop: flag(raw.DisableApiStop, `${at}.DisableApiStop`),
    shutdownBehavior: shutdown,
    clientToken: null,
  };
}

/** `{ "Value": x }` as DescribeInstanceAttribute returns it, or the bare value. */
function attributeValue(raw: unknown): unknown {
  return isObject(raw) ? raw.Value : raw;
}

/**
 * A boolean attribute as AWS outputs show it: `true`, `"false"` (the CLI's documented
 * examples quote it), `{ "Value": false }`, or missing, which EC2 treats as false.
 */
function flag(raw: unknown, at: string): boolean {
  const value = attributeValue(raw);
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) {
    return value.trim().toLowerCase() === 'true';
  }
  throw new SandboxInputError(`${at} must be true or false, got ${show(raw)}`);
}

/** ISO 8601, or the `{ "__class__": "datetime", ... }` object botocore recordings keep. */
function timeOf(raw: unknown, at: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string' && !Number.isNaN(Date.parse(raw))) return new Date(raw).toISOString();
  if (isObject(raw) && raw.__class__ === 'datetime') {
    const n = (k: string) => (typeof raw[k] === 'number' ? (raw[k] as number) : 0);
    return new Date(
      Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')),
    ).toISOString();
  }
  throw new SandboxInputError(`${at} must be an ISO 8601 time, got ${show(raw)}`);
}

function tags(raw: unknown, at: string): Tag[] {
  if (raw === undefined || raw === null) return [];
  const ok =
    Array.isArray(raw) &&
    raw.every(
      (t) => isObject(t) && typeof t.Key === 'string' && typeof (t.Value ?? '') === 'string',
    );
  if (!ok) throw new SandboxInputError(`${at} must be a list of { "Key", "Value" }`);
  return (raw as Record<string, unknown>[]).map((t) => ({
    Key: t.Key as string,
    Value: (t.Value as string | undefined) ?? '',
  }));
}

function listAt(raw: Record<string, unknown>, key: string, at: string): unknown[] {
  const value = raw[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SandboxInputError(`${at}.${key} must be a list`);
  return value;
}

function text(raw: unknown, at: string, emptyOk = false): string {
  if (typeof raw !== 'string' || (!emptyOk && raw === '')) {
    throw new SandboxInputError(`${at} must be a non-empty string, got ${show(raw)}`);
  }
  return raw;
}

/** Writes every region's resources into the document, in the shapes they load from. */
export function saveRegions(regions: readonly Ec2Region[], doc: StateDocument): void {
  for (const r of regions) {
    const account = (doc.accounts[r.account] ??= { regions: {} });
    const region = (account.regions[r.region] ??= {});
    const slice: Ec2StateJson = {
      defaultVpcId: r.defaultVpcId,
      securityGroups: [...r.groups.values()].map(groupJson),
      instances: [...r.instances.values()].map((i) => instanceJson(i, r)),
    };
    region.ec2 = slice;
  }
}

export function groupJson(g: SecurityGroup): Record<string, unknown> {
  return {
    GroupId: g.id,
    GroupName: g.name,
    Description: g.description,
    VpcId: g.vpcId,
    OwnerId: g.ownerId,
    Tags: g.tags.map((t) => ({ ...t })),
    IpPermissions: listPermissions(g.rules.filter((rule) => !rule.egress)),
    IpPermissionsEgress: listPermissions(g.rules.filter((rule) => rule.egress)),
  };
}

function instanceJson(i: Instance, region: Ec2Region): Record<string, unknown> {
  return {
    InstanceId: i.id,
    ReservationId: i.reservationId,
    ImageId: i.imageId,
    InstanceType: i.instanceType,
    State: { Name: i.state },
    LaunchTime: i.launchTime,
    VpcId: i.vpcId,
    ...(i.subnetId ? { SubnetId: i.subnetId } : {}),
    PrivateIpAddress: i.privateIpAddress,
    SecurityGroups: i.groupIds.map((id) => ({
      GroupId: id,
      ...(region.groups.get(id) ? { GroupName: region.groups.get(id)?.name } : {}),
    })),
    Tags: i.tags.map((t) => ({ ...t })),
    DisableApiTermination: i.disableApiTermination,
    DisableApiStop: i.disableApiStop,
    InstanceInitiatedShutdownBehavior: i.shutdownBehavior,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? 'nothing' : json.length > 80 ? `${json.slice(0, 80)}...` : json;
}
