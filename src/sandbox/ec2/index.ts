import { createQueryModule, type QueryOperation } from '../query/module.ts';
import type { ServiceContext, ServiceModule, StateDocument } from '../types.ts';
import { describeInstanceAttribute, modifyInstanceAttribute } from './attributes-api.ts';
import { REQUEST_LIMIT_EXCEEDED } from './errors.ts';
import { createSecurityGroup, deleteSecurityGroup, describeSecurityGroups } from './groups-api.ts';
import { describeInstances, runInstances, terminateInstances } from './instances-api.ts';
import { Ec2Store } from './model.ts';
import { type Ec2Deps, type Ec2Operation, regionOf } from './request.ts';
import { authorize, describeSecurityGroupRules, revoke } from './rules-api.ts';
import { loadRegions, saveRegions } from './state.ts';

const OPERATIONS: Record<string, Ec2Operation> = {
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DeleteSecurityGroup: deleteSecurityGroup,
  AuthorizeSecurityGroupIngress: authorize('Ingress'),
  RevokeSecurityGroupIngress: revoke('Ingress'),
  AuthorizeSecurityGroupEgress: authorize('Egress'),
  RevokeSecurityGroupEgress: revoke('Egress'),
  DescribeSecurityGroupRules: describeSecurityGroupRules,
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  DescribeInstanceAttribute: describeInstanceAttribute,
  ModifyInstanceAttribute: modifyInstanceAttribute,
  TerminateInstances: terminateInstances,
};

/**
 * EC2 over its query protocol: security groups and their rules, and instances with the
 * attributes the fixes read and change. VPCs and subnets are not modelled: any
 * well-formed id is accepted, and each region has a default VPC.
 */
export function createEc2Module(ctx: ServiceContext): ServiceModule {
  const deps: Ec2Deps = { store: new Ec2Store(), ctx };
  const operations: Record<string, QueryOperation> = {};
  for (const [name, op] of Object.entries(OPERATIONS)) {
    operations[name] = (p, req, raw) => op(deps, regionOf(deps, req), p, raw);
  }
  return createQueryModule({
    name: 'ec2',
    style: 'ec2',
    xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
    throttle: REQUEST_LIMIT_EXCEEDED,
    operations,
    load(doc: StateDocument) {
      deps.store.replace(loadRegions(doc, ctx.now()));
    },
    save(doc: StateDocument) {
      saveRegions(deps.store.all(), doc);
    },
  });
}
