import { createHash, randomBytes } from 'node:crypto';
import type { Rule } from './permissions.ts';

export interface Tag {
  Key: string;
  Value: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  ownerId: string;
  tags: Tag[];
  /** Ingress and egress rules in the order they were added. */
  rules: Rule[];
}

export type InstanceStateName =
  'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface Instance {
  id: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  state: InstanceStateName;
  launchTime: string;
  vpcId: string;
  subnetId: string | null;
  privateIpAddress: string;
  groupIds: string[];
  tags: Tag[];
  disableApiTermination: boolean;
  disableApiStop: boolean;
  shutdownBehavior: 'stop' | 'terminate';
  clientToken: string | null;
}

/** One account's EC2 resources in one region. */
export interface Ec2Region {
  account: string;
  region: string;
  /** Groups created without a VPC go here, as they go to the default VPC on AWS. */
  defaultVpcId: string;
  groups: Map<string, SecurityGroup>;
  instances: Map<string, Instance>;
}

export const GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
export const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
export const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
export const RULE_ID = /^sgr-[0-9a-f]{8,17}$/;

/** A fresh id in EC2's long format, e.g. `sg-0a1b2c3d4e5f67890`. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** An id derived from `seed`, so loading the same state twice gives the same ids. */
export function stableId(prefix: string, seed: string): string {
  return `${prefix}-${createHash('sha256').update(seed).digest('hex').slice(0, 17)}`;
}

/** The default VPC a region has until a state file names another. */
export function defaultVpcOf(account: string, region: string): string {
  return stableId('vpc', `default-vpc/${account}/${region}`);
}

/** Every region's EC2 resources, created on first use. */
export class Ec2Store {
  #regions = new Map<string, Ec2Region>();

  region(account: string, region: string): Ec2Region {
    const key = `${account}/${region}`;
    let found = this.#regions.get(key);
    if (!found) {
      found = {
        account,
        region,
        defaultVpcId: defaultVpcOf(account, region),
        groups: new Map(),
        instances: new Map(),
      };
      this.#regions.set(key, found);
    }
    return found;
  }

  all(): Ec2Region[] {
    return [...this.#regions.values()];
  }

  replace(regions: readonly Ec2Region[]): void {
    this.#regions = new Map(regions.map((r) => [`${r.account}/${r.region}`, r]));
  }
}
