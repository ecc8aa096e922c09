import { reader } from '../query/form.ts';
import { createQueryModule, type QueryOperation } from '../query/module.ts';
import type { XmlValue } from '../query/xml.ts';
import type { ServiceContext, ServiceModule } from '../types.ts';
import { createDBCluster, describeDBClusters } from './clusters-api.ts';
import { type RdsCall, type RdsDeps, rdsCall } from './context.ts';
import { invalidValue, THROTTLING } from './errors.ts';
import { createDBInstance } from './create-instance.ts';
import { deleteDBInstance, describeDBInstances } from './instances-api.ts';
import { createDBInstanceReadReplica, startDBInstance, stopDBInstance } from './lifecycle.ts';
import { modifyDBInstance } from './modify.ts';
import {
  copyDBSnapshot,
  createDBSnapshot,
  deleteDBSnapshot,
  describeDBSnapshots,
  restoreDBInstanceFromDBSnapshot,
} from './snapshots-api.ts';
import { RdsStore } from './store.ts';

const HANDLERS: Record<string, (call: RdsCall) => XmlValue> = {
  CreateDBInstance: createDBInstance,
  DescribeDBInstances: describeDBInstances,
  ModifyDBInstance: modifyDBInstance,
  DeleteDBInstance: deleteDBInstance,
  StopDBInstance: stopDBInstance,
  StartDBInstance: startDBInstance,
  CreateDBInstanceReadReplica: createDBInstanceReadReplica,
  CreateDBSnapshot: createDBSnapshot,
  DescribeDBSnapshots: describeDBSnapshots,
  CopyDBSnapshot: copyDBSnapshot,
  DeleteDBSnapshot: deleteDBSnapshot,
  RestoreDBInstanceFromDBSnapshot: restoreDBInstanceFromDBSnapshot,
  CreateDBCluster: createDBCluster,
  DescribeDBClusters: describeDBClusters,
};

/**
 * RDS over the query protocol: DB instances, manual snapshots and Aurora clusters per
 * account and region (`regions[region].rds`), with statuses that settle on their own
 * and changes that wait for the maintenance window. See docs/sandbox.md.
 */
export function createRdsModule(ctx: ServiceContext): ServiceModule {
  const deps: RdsDeps = { store: new RdsStore(), ctx };
  const operations: Record<string, QueryOperation> = {};
  for (const [name, handler] of Object.entries(HANDLERS)) {
    operations[name] = (_params, req, raw) =>
      handler(rdsCall(reader(raw, invalidValue), raw, req, deps));
  }
  return createQueryModule({
    name: 'rds',
    style: 'query',
    xmlns: 'http://rds.amazonaws.com/doc/2014-10-31/',
    throttle: THROTTLING,
    operations,
    load: (doc) => deps.store.load(doc, ctx.now()),
    save: (doc) => deps.store.save(doc),
  });
}
