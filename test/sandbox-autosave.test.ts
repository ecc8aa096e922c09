import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../src/sandbox/index.ts';

describe('sandbox autosave', () => {
  it('writes every change to the state file without waiting for a clean stop', async () => {
    const statePath = join(mkdtempSync(join(tmpdir(), 'infraudit-autosave-')), 'state.json');
    const sandbox = await startSandbox({ statePath, autosave: true, seed: 'empty' });
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: sandbox.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAAUTOSAVE', secretAccessKey: 'x' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'kept-bucket' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'kept-bucket',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );

    const saved = async () => {
      for (let i = 0; i < 100; i++) {
        try {
          const doc = JSON.parse(readFileSync(statePath, 'utf8'));
          const bucket =
            doc.accounts[doc.defaultAccount].regions['us-east-1']?.s3?.buckets?.['kept-bucket'];
          if (bucket?.versioning === 'Enabled') return bucket;
        } catch {
          // not written yet
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return undefined;
    };
    // Read while the sandbox still runs: the file must not depend on close() or save().
    expect(await saved()).toMatchObject({ versioning: 'Enabled' });
    // The state may hold keys the fake IAM issued: only its owner may read it.
    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    s3.destroy();
    await sandbox.close();
  });
});
