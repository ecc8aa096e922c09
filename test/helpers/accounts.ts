import { join } from 'node:path';
import type { CloudConfig } from '../../src/cloud/clients.ts';
import { demoDocument } from '../../src/sandbox/seed.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { writeStateFile } from '../../src/sandbox/state-file.ts';
import { REGION } from './world.ts';

export const OTHER = '444455556666';
export const OTHER_REGION = 'eu-west-1';
export const ROLE = `arn:aws:iam::${OTHER}:role/infraudit-scan`;

/** The demo account plus a second account holding one bucket, reached by AssumeRole. */
export async function twoAccountSandbox(dir: string): Promise<Sandbox> {
  const doc = demoDocument();
  doc.accounts[OTHER] = {
    regions: {
      [OTHER_REGION]: {
        s3: {
          buckets: {
            'other-team-logs': {
              createdAt: '2024-01-01T00:00:00.000Z',
              encryption: null,
              publicAccessBlock: null,
              versioning: null,
              tags: { team: 'other' },
            },
          },
        },
      },
    },
  };
  const statePath = join(dir, 'state.json');
  await writeStateFile(statePath, doc);
  return startSandbox({ statePath });
}

export function cloudOf(sandbox: Sandbox, kubeconfig?: string): CloudConfig {
  return {
    defaultRegion: REGION,
    endpoint: sandbox.url,
    s3ForcePathStyle: true,
    credentials: { accessKeyId: 'AKIASCANTEST', secretAccessKey: 'sandbox-secret' },
    maxAttempts: 2,
    ...(kubeconfig ? { kubeconfig } : {}),
  };
}
