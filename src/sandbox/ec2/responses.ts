import { SandboxInputError } from '../api-error.ts';

/**
 * Recorded EC2 responses turned into sandbox starting state: the output of the AWS CLI
 * or an SDK, or a botocore recording (`{ "status_code": 200, "data": { ... } }`, as
 * Cloud Custodian's placebo files keep them). What comes out is the `ec2` slice of a
 * state document (see state.ts), so a test can start from what a real account held.
 */

type Json = Record<string, unknown>;

/** The response a recording holds; refuses text that is not JSON, saying where. */
export function readRecordedResponse(text: string, source: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new SandboxInputError(
      `${source} is not valid JSON (${(err as Error).message}); it cannot be loaded as a ` +
        'recorded AWS response. Fix the file (documentation examples are often hand-edited ' +
        'and lose a comma) or record the response again',
    );
  }
  if (!isObject(parsed))
    throw new SandboxInputError(`${source} must hold a JSON object, not ${kind(parsed)}`);
  if (!('status_code' in parsed && 'data' in parsed)) return parsed;
  const status = parsed.status_code;
  if (typeof status !== 'number' || status >= 300 || !isObject(parsed.data)) {
    throw new SandboxInputError(
      `${source} records a failed call (status ${JSON.stringify(status)}), not a response to load`,
    );
  }
  return parsed.data;
}

/** The groups of a DescribeSecurityGroups response, in the shape the state file takes. */
export function securityGroupsOf(response: Json, source: string): Json[] {
  const groups = response.SecurityGroups;
  if (!Array.isArray(groups) || !groups.every(isObject)) {
    throw new SandboxInputError(
      `${source} is not a DescribeSecurityGroups response: it has no "SecurityGroups" list`,
    );
  }
  return groups.map((g) => structuredClone(g));
}

/**
 * Security groups rebuilt from a DescribeSecurityGroupRules response: one rule per source
 * becomes an IpPermission. The response does not name the groups, so each is named by
 * its id.
 */
export function securityGroupsFromRules(response: Json, source: string): Json[] {
  const rules = response.SecurityGroupRules;
  if (!Array.isArray(rules) || !rules.every(isObject)) {
    throw new SandboxInputError(
      `${source} is not a DescribeSecurityGroupRules response: it has no "SecurityGroupRules" list`,
    );
  }
  const groups = new Map<string, Json & { IpPermissions: Json[]; IpPermissionsEgress: Json[] }>();
  rules.forEach((rule, i) => {
    const id = rule.GroupId;
    if (typeof id !== 'string')
      throw new SandboxInputError(`${source}: SecurityGroupRules[${i}] has no GroupId`);
    const group = groups.get(id) ?? {
      GroupId: id,
      GroupName: id,
      Description: '',
      ...(typeof rule.GroupOwnerId === 'string' ? { OwnerId: rule.GroupOwnerId } : {}),
      IpPermissions: [],
      IpPermissionsEgress: [],
    };
    groups.set(id, group);
    const described = typeof rule.Description === 'string' ? { Description: rule.Description } : {};
    const referenced = isObject(rule.ReferencedGroupInfo) ? rule.ReferencedGroupInfo : null;
    const permission: Json = {
      IpProtocol: rule.IpProtocol,
      ...(rule.IpProtocol === '-1' ? {} : { FromPort: rule.FromPort, ToPort: rule.ToPort }),
      ...(typeof rule.CidrIpv4 === 'string'
        ? { IpRanges: [{ CidrIp: rule.CidrIpv4, ...described }] }
        : {}),
      ...(typeof rule.CidrIpv6 === 'string'
        ? { Ipv6Ranges: [{ CidrIpv6: rule.CidrIpv6, ...described }] }
        : {}),
      ...(typeof rule.PrefixListId === 'string'
        ? { PrefixListIds: [{ PrefixListId: rule.PrefixListId, ...described }] }
        : {}),
      ...(referenced ? { UserIdGroupPairs: [{ ...referenced, ...described }] } : {}),
    };
    (rule.IsEgress === true ? group.IpPermissionsEgress : group.IpPermissions).push(permission);
  });
  return [...groups.values()];
}

/** An instance entry from a DescribeInstanceAttribute response, with the attribute as given. */
export function instanceFromAttribute(response: Json, source: string): Json {
  const id = response.InstanceId;
  if (typeof id !== 'string') {
    throw new SandboxInputError(
      `${source} is not a DescribeInstanceAttribute response: no InstanceId`,
    );
  }
  const out: Json = { InstanceId: id };
  for (const key of [
    'DisableApiTermination',
    'DisableApiStop',
    'InstanceInitiatedShutdownBehavior',
  ]) {
    if (key in response) out[key] = structuredClone(response[key]);
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
}
