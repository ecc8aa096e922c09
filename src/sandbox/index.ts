export { startSandbox, type Sandbox, type SandboxOptions } from './server.ts';
export { DEMO_ACCOUNT, DEMO_REGION, demoDocument } from './seed.ts';
export type {
  ActiveFault,
  BucketState,
  FaultKind,
  FaultSpec,
  Mutation,
  StateDocument,
} from './types.ts';
