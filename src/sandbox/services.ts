import { createEc2Module } from './ec2/index.ts';
import { createIamModule } from './iam/index.ts';
import { createKubernetesModule } from './k8s/index.ts';
import { createRdsModule } from './rds/index.ts';
import { createS3Module } from './s3/index.ts';
import { createStsModule } from './sts/index.ts';
import type { ServiceContext, ServiceModule } from './types.ts';

/**
 * Every emulated service. Requests go to the module named by their SigV4 signing scope;
 * unsigned requests go to the first. Adding a service is one module and one line here.
 */
export function createServiceModules(ctx: ServiceContext): ServiceModule[] {
  return [
    createS3Module(ctx),
    createStsModule(ctx),
    createIamModule(ctx),
    createEc2Module(ctx),
    createRdsModule(ctx),
    createKubernetesModule(ctx),
  ];
}
