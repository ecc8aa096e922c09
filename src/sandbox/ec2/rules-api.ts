import type { ParamReader, QueryParams } from '../query/form.ts';
import { list } from '../query/xml.ts';
import { ec2Error } from './errors.ts';
import { applyFilters, type FilterFields, paginate, readFilters } from './filters.ts';
import { type Ec2Region, GROUP_ID, newId, RULE_ID, type SecurityGroup } from './model.ts';
import {
  type GroupPairJson,
  type IpPermissionJson,
  listPermissions,
  type Rule,
  type RuleContext,
  type RuleSpec,
  ruleKey,
  rulesOf,
  ruleText,
} from './permissions.ts';
import {
  checkDryRun,
  checkGroupId,
  type Ec2Operation,
  groupById,
  legacyPermission,
  permissionsFromForm,
  record,
  targetGroup,
} from './request.ts';
import { permissionXml, revokedXml, ruleXml } from './xml.ts';

type Direction = 'Ingress' | 'Egress';

/** Descriptions are checked when rules are added; a revoke ignores them. */
function ruleContext(
  region: Ec2Region,
  group: SecurityGroup,
  egress: boolean,
  adding: boolean,
): RuleContext {
  return {
    egress,
    invalid: ec2Error.invalidParameter,
    strictDescriptions: adding,
    resolvePair: (pair: GroupPairJson) => resolvePair(region, group, pair),
  };
}

/** A group pair names a group of this account that must exist, or another account's. */
function resolvePair(region: Ec2Region, group: SecurityGroup, pair: GroupPairJson) {
  const userId = pair.UserId ?? region.account;
  if (pair.GroupId !== undefined) {
    checkGroupId(pair.GroupId);
    if (userId === region.account && !region.groups.has(pair.GroupId)) {
      throw ec2Error.groupNotFound(pair.GroupId);
    }
    return { groupId: pair.GroupId, userId };
  }
  if (pair.GroupName !== undefined) {
    const named = [...region.groups.values()].find(
      (g) => g.name === pair.GroupName && g.vpcId === group.vpcId,
    );
    if (!named) throw ec2Error.groupNotFound(pair.GroupName);
    return { groupId: named.id, userId };
  }
  throw ec2Error.missingParameter('GroupId');
}

/** The permissions a call names, in the SDK's terms, from either request form. */
function requested(p: ParamReader, raw: QueryParams): IpPermissionJson[] {
  const perms = permissionsFromForm(raw);
  const legacy = legacyPermission(p);
  if (legacy) perms.push(legacy);
  return perms;
}

function groupFor(p: ParamReader, region: Ec2Region, direction: Direction): SecurityGroup {
  // Egress calls take only a group id.
  if (direction === 'Egress') {
    const id = p.str('GroupId');
    if (!id) throw ec2Error.missingParameter('GroupId');
    return groupById(region, id);
  }
  return targetGroup(p, region);
}

function requestParams(p: ParamReader, group: SecurityGroup, perms: IpPermissionJson[]) {
  return {
    ...(p.str('GroupId') ? { GroupId: group.id } : { GroupName: group.name }),
    IpPermissions: perms,
  };
}

export function authorize(direction: Direction): Ec2Operation {
  return (deps, region, p, raw) => {
    const group = groupFor(p, region, direction);
    const perms = requested(p, raw);
    if (perms.length === 0) throw ec2Error.missingParameter('IpPermissions');
    const ctx = ruleContext(region, group, direction === 'Egress', true);
    const specs = perms.flatMap((perm) => rulesOf(perm, ctx));
    const existing = new Set(group.rules.map(ruleKey));
    for (const spec of specs) {
      const key = ruleKey(spec);
      if (existing.has(key)) throw ec2Error.permissionDuplicate(ruleText(spec));
      existing.add(key);
    }
    checkDryRun(p);
    const added: Rule[] = specs.map((spec) => ({ id: newId('sgr'), ...spec }));
    group.rules.push(...added);
    record(
      deps,
      region,
      `AuthorizeSecurityGroup${direction}`,
      group.id,
      requestParams(p, group, perms),
    );
    return {
      return: true,
      securityGroupRuleSet: list(
        'item',
        added.map((r) => ruleXml(region, group, r)),
      ),
    };
  };
}

/**
 * Revokes exactly the rules named: the description is not part of a rule's identity.
 * In the default VPC rules that do not exist come back as unknown and the others are
 * revoked; in any other VPC one unknown rule refuses the whole call.
 */
export function revoke(direction: Direction): Ec2Operation {
  return (deps, region, p, raw) => {
    const group = groupFor(p, region, direction);
    const egress = direction === 'Egress';
    const ruleIds = p.strings('SecurityGroupRuleId');
    const perms = requested(p, raw);
    if (perms.length === 0 && ruleIds.length === 0)
      throw ec2Error.missingParameter('IpPermissions');

    const byKey = new Map(
      group.rules.filter((r) => r.egress === egress).map((r) => [ruleKey(r), r]),
    );
    const matched: Rule[] = [];
    const unknown: RuleSpec[] = [];
    for (const spec of perms.flatMap((perm) =>
      rulesOf(perm, ruleContext(region, group, egress, false)),
    )) {
      const rule = byKey.get(ruleKey(spec));
      if (rule && !matched.includes(rule)) matched.push(rule);
      else if (!rule) unknown.push(spec);
    }
    for (const id of ruleIds) {
      if (!RULE_ID.test(id))
        throw ec2Error.invalidParameter(`Invalid id: "${id}" (expecting "sgr-...")`);
      const rule = group.rules.find((r) => r.id === id && r.egress === egress);
      if (!rule) throw ec2Error.ruleIdNotFound(id);
      if (!matched.includes(rule)) matched.push(rule);
    }
    if (unknown.length > 0 && group.vpcId !== region.defaultVpcId) {
      throw ec2Error.permissionNotFound();
    }
    checkDryRun(p);
    if (matched.length > 0) {
      group.rules = group.rules.filter((r) => !matched.includes(r));
      record(deps, region, `RevokeSecurityGroup${direction}`, group.id, {
        ...requestParams(p, group, perms),
        ...(ruleIds.length ? { SecurityGroupRuleIds: ruleIds } : {}),
      });
    }
    const unknownRules = unknown.map((spec) => ({ id: '', ...spec }));
    return {
      return: true,
      unknownIpPermissionSet: unknown.length
        ? list('item', listPermissions(unknownRules).map(permissionXml))
        : undefined,
      revokedSecurityGroupRuleSet: list(
        'item',
        matched.map((r) => revokedXml(group, r)),
      ),
    };
  };
}

interface RuleRow {
  group: SecurityGroup;
  rule: Rule;
}

const RULE_FILTERS: FilterFields<RuleRow> = {
  'group-id': (row) => [row.group.id],
  'security-group-rule-id': (row) => [row.rule.id],
};

export const describeSecurityGroupRules: Ec2Operation = (deps, region, p, raw) => {
  const ids = p.strings('SecurityGroupRuleId');
  const filters = readFilters(raw);
  for (const f of filters) {
    if (f.name === 'group-id') f.values.filter((v) => !v.includes('*')).forEach(checkGroupIdOnly);
  }
  let rows: RuleRow[] = [...region.groups.values()].flatMap((group) =>
    group.rules.map((rule) => ({ group, rule })),
  );
  if (ids.length > 0) {
    for (const id of ids) {
      if (!rows.some((row) => row.rule.id === id)) throw ec2Error.ruleIdNotFound(id);
    }
    rows = rows.filter((row) => ids.includes(row.rule.id));
  }
  const matched = applyFilters(rows, filters, RULE_FILTERS);
  const { page, nextToken } = paginate(matched, p.int('MaxResults'), p.str('NextToken'));
  return {
    securityGroupRuleSet: list(
      'item',
      page.map((row) => ruleXml(region, row.group, row.rule)),
    ),
    nextToken,
  };
};

function checkGroupIdOnly(id: string): void {
  if (!GROUP_ID.test(id)) throw ec2Error.groupIdMalformed(id);
}
