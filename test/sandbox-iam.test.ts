import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/sandbox/index.ts';
import { daysAgo, iamDocument, putState } from './helpers/iam.ts';

let sandbox: Sandbox;
let iam: IAMClient;

const client = (accessKeyId: string, maxAttempts = 4) =>
  new IAMClient({
    region: 'us-east-1',
    endpoint: sandbox.url,
    credentials: { accessKeyId, secretAccessKey: 'sandbox' },
    maxAttempts,
  });

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  iam = client('AKIASANDBOXIAMTEST');
});
afterAll(async () => {
  iam?.destroy();
  await sandbox?.close();
});
beforeEach(async () => {
  sandbox.clearFaults();
  await putState(sandbox, iamDocument({}));
});

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    const e = error as {
      name: string;
      Code: string;
      message: string;
      $metadata: { httpStatusCode: number };
    };
    return { name: e.name, code: e.Code, status: e.$metadata.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

describe('sandbox IAM users', () => {
  it('creates, reads, lists and deletes users as IAM answers', async () => {
    const created = await iam.send(new CreateUserCommand({ UserName: 'alice', Path: '/people/' }));
    expect(created.User).toMatchObject({
      UserName: 'alice',
      Path: '/people/',
      Arn: 'arn:aws:iam::111122223333:user/people/alice',
    });
    expect(created.User?.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(created.User?.CreateDate).toBeInstanceOf(Date);

    const got = await iam.send(new GetUserCommand({ UserName: 'ALICE' }));
    expect(got.User?.UserName).toBe('alice');

    await iam.send(new CreateUserCommand({ UserName: 'bob' }));
    const all = await iam.send(new ListUsersCommand({}));
    expect(all.Users?.map((u) => u.UserName)).toEqual(['alice', 'bob']);
    expect(all.IsTruncated).toBe(false);
    const people = await iam.send(new ListUsersCommand({ PathPrefix: '/people/' }));
    expect(people.Users?.map((u) => u.UserName)).toEqual(['alice']);

    await iam.send(new DeleteUserCommand({ UserName: 'bob' }));
    expect(await failure(iam.send(new GetUserCommand({ UserName: 'bob' })))).toEqual({
      name: 'NoSuchEntityException',
      code: 'NoSuchEntity',
      status: 404,
      message: 'The user with name bob cannot be found.',
    });
    expect(
      sandbox
        .mutations()
        .slice(-3)
        .map((m) => [m.operation, m.resource, m.params]),
    ).toEqual([
      ['CreateUser', 'alice', { UserName: 'alice', Path: '/people/' }],
      ['CreateUser', 'bob', { UserName: 'bob' }],
      ['DeleteUser', 'bob', { UserName: 'bob' }],
    ]);
  });

  it('pages ListUsers with Marker and MaxItems', async () => {
    for (const name of ['u1', 'u2', 'u3'])
      await iam.send(new CreateUserCommand({ UserName: name }));
    const first = await iam.send(new ListUsersCommand({ MaxItems: 2 }));
    expect(first.Users?.map((u) => u.UserName)).toEqual(['u1', 'u2']);
    expect(first.IsTruncated).toBe(true);
    const rest = await iam.send(new ListUsersCommand({ MaxItems: 2, Marker: first.Marker }));
    expect(rest.Users?.map((u) => u.UserName)).toEqual(['u3']);
    expect(rest.IsTruncated).toBe(false);
    expect(await failure(iam.send(new ListUsersCommand({ MaxItems: 0 })))).toMatchObject({
      code: 'ValidationError',
      status: 400,
    });
  });

  it('answers the real errors for duplicate, invalid and still-used users', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'carol' }));
    expect(await failure(iam.send(new CreateUserCommand({ UserName: 'Carol' })))).toEqual({
      name: 'EntityAlreadyExistsException',
      code: 'EntityAlreadyExists',
      status: 409,
      message: 'User with name Carol already exists.',
    });
    expect(await failure(iam.send(new CreateUserCommand({ UserName: 'no spaces' })))).toMatchObject(
      {
        code: 'ValidationError',
        status: 400,
        message: expect.stringMatching(
          /Value 'no spaces' at 'userName' failed to satisfy constraint/,
        ),
      },
    );
    await iam.send(new CreateAccessKeyCommand({ UserName: 'carol' }));
    expect(await failure(iam.send(new DeleteUserCommand({ UserName: 'carol' })))).toMatchObject({
      code: 'DeleteConflict',
      status: 409,
    });
  });
});

describe('sandbox IAM access keys', () => {
  it('creates a key with its secret once, lists, updates and deletes it', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'dave' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'dave' }));
    expect(AccessKey).toMatchObject({ UserName: 'dave', Status: 'Active' });
    expect(AccessKey?.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(AccessKey?.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    const id = AccessKey!.AccessKeyId!;

    const listed = await iam.send(new ListAccessKeysCommand({ UserName: 'dave' }));
    expect(listed.AccessKeyMetadata).toEqual([
      { UserName: 'dave', AccessKeyId: id, Status: 'Active', CreateDate: AccessKey?.CreateDate },
    ]);
    expect(JSON.stringify(listed)).not.toContain(AccessKey!.SecretAccessKey!);

    await iam.send(
      new UpdateAccessKeyCommand({ UserName: 'dave', AccessKeyId: id, Status: 'Inactive' }),
    );
    const after = await iam.send(new ListAccessKeysCommand({ UserName: 'dave' }));
    expect(after.AccessKeyMetadata?.[0]?.Status).toBe('Inactive');

    await iam.send(new DeleteAccessKeyCommand({ UserName: 'dave', AccessKeyId: id }));
    expect(
      (await iam.send(new ListAccessKeysCommand({ UserName: 'dave' }))).AccessKeyMetadata,
    ).toEqual([]);
    expect(
      sandbox
        .mutations()
        .slice(-3)
        .map((m) => [m.operation, m.resource, m.params]),
    ).toEqual([
      ['CreateAccessKey', id, { UserName: 'dave' }],
      ['UpdateAccessKey', id, { UserName: 'dave', AccessKeyId: id, Status: 'Inactive' }],
      ['DeleteAccessKey', id, { UserName: 'dave', AccessKeyId: id }],
    ]);
  });

  it('allows two keys per user and answers LimitExceeded for a third', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'erin' }));
    await iam.send(new CreateAccessKeyCommand({ UserName: 'erin' }));
    await iam.send(new CreateAccessKeyCommand({ UserName: 'erin' }));
    // One attempt: the SDK counts LimitExceededException as throttling and would retry it.
    const once = client('AKIASANDBOXIAMTEST', 1);
    const third = failure(once.send(new CreateAccessKeyCommand({ UserName: 'erin' })));
    expect(await third.finally(() => once.destroy())).toEqual({
      name: 'LimitExceededException',
      code: 'LimitExceeded',
      status: 409,
      message: 'Cannot exceed quota for AccessKeysPerUser: 2',
    });
  });

  it("answers NoSuchEntity for another user's key, ValidationError for a bad status", async () => {
    await iam.send(new CreateUserCommand({ UserName: 'frank' }));
    await iam.send(new CreateUserCommand({ UserName: 'grace' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'frank' }));
    const id = AccessKey!.AccessKeyId!;
    expect(
      await failure(
        iam.send(
          new UpdateAccessKeyCommand({ UserName: 'grace', AccessKeyId: id, Status: 'Inactive' }),
        ),
      ),
    ).toEqual({
      name: 'NoSuchEntityException',
      code: 'NoSuchEntity',
      status: 404,
      message: `The Access Key with id ${id} cannot be found.`,
    });
    expect(
      await failure(
        iam.send(
          new UpdateAccessKeyCommand({
            UserName: 'frank',
            AccessKeyId: id,
            Status: 'Off' as 'Active',
          }),
        ),
      ),
    ).toEqual({
      name: 'ValidationError',
      code: 'ValidationError',
      status: 400,
      message:
        "1 validation error detected: Value 'Off' at 'status' failed to satisfy constraint: " +
        'Member must satisfy enum value set: [Active, Inactive]',
    });
    expect(
      await failure(iam.send(new ListAccessKeysCommand({ UserName: 'nobody' }))),
    ).toMatchObject({
      code: 'NoSuchEntity',
    });
  });

  it('reports last use from the state file, and N/A for a key never used', async () => {
    await putState(
      sandbox,
      iamDocument({
        henry: {
          keys: [
            { id: 'AKIAHENRYUSED0000001', created: 100, used: 3 },
            { id: 'AKIAHENRYIDLE0000002', created: 50 },
          ],
        },
      }),
    );
    const used = await iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: 'AKIAHENRYUSED0000001' }),
    );
    expect(used.UserName).toBe('henry');
    expect(used.AccessKeyLastUsed).toMatchObject({ ServiceName: 's3', Region: 'us-east-1' });
    expect(used.AccessKeyLastUsed?.LastUsedDate?.toISOString().slice(0, 10)).toBe(
      daysAgo(3).slice(0, 10),
    );
    const idle = await iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: 'AKIAHENRYIDLE0000002' }),
    );
    expect(idle.AccessKeyLastUsed).toEqual({ ServiceName: 'N/A', Region: 'N/A' });
  });

  it("keeps the root's keys out of the user APIs; the root caller sees its own", async () => {
    await putState(
      sandbox,
      iamDocument({ ivan: { keys: [{ id: 'AKIAIVANKEY000000001', created: 10 }] } }, [
        { id: 'AKIAROOTKEY000000001', created: 700, used: 30 },
      ]),
    );
    const rootKeys = await iam.send(new ListAccessKeysCommand({}));
    expect(rootKeys.AccessKeyMetadata?.map((k) => [k.UserName, k.AccessKeyId])).toEqual([
      [undefined, 'AKIAROOTKEY000000001'],
    ]);
    expect(
      await failure(
        iam.send(
          new UpdateAccessKeyCommand({
            UserName: 'ivan',
            AccessKeyId: 'AKIAROOTKEY000000001',
            Status: 'Inactive',
          }),
        ),
      ),
    ).toMatchObject({ code: 'NoSuchEntity' });
    const root = await iam.send(new GetUserCommand({}));
    expect(root.User).toMatchObject({
      Arn: 'arn:aws:iam::111122223333:root',
      UserId: '111122223333',
    });
    expect(root.User?.UserName).toBeUndefined();
    const lastUsed = await iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: 'AKIAROOTKEY000000001' }),
    );
    expect(lastUsed.UserName).toBeUndefined();

    // A caller signing with a user's key acts as that user.
    const asIvan = client('AKIAIVANKEY000000001');
    try {
      const own = await asIvan.send(new ListAccessKeysCommand({}));
      expect(own.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual(['AKIAIVANKEY000000001']);
      expect((await asIvan.send(new GetUserCommand({}))).User?.UserName).toBe('ivan');
    } finally {
      asIvan.destroy();
    }
  });

  it('throttles with Throttling, which the SDK retries', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'judy' }));
    sandbox.injectFault({
      service: 'iam',
      operation: 'ListAccessKeys',
      kind: 'throttle',
      count: 2,
    });
    const out = await iam.send(new ListAccessKeysCommand({ UserName: 'judy' }));
    expect(out.$metadata.attempts).toBe(3);
    sandbox.injectFault({ service: 'iam', operation: 'GetUser', kind: 'throttle', count: 1 });
    const once = client('AKIASANDBOXIAMTEST', 1);
    try {
      expect(await failure(once.send(new GetUserCommand({ UserName: 'judy' })))).toEqual({
        name: 'Throttling',
        code: 'Throttling',
        status: 400,
        message: 'Rate exceeded',
      });
    } finally {
      once.destroy();
    }
  });
});

describe('sandbox IAM state', () => {
  it('saves users and keys, and refuses a state file that breaks IAM rules', async () => {
    await iam.send(new CreateUserCommand({ UserName: 'kate' }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'kate' }));
    const saved = sandbox.state().accounts['111122223333']?.iam as {
      users: Record<string, { accessKeys: { accessKeyId: string; lastUsed: unknown }[] }>;
    };
    expect(saved.users.kate?.accessKeys).toEqual([
      expect.objectContaining({ accessKeyId: AccessKey!.AccessKeyId, lastUsed: null }),
    ]);

    const dir = await mkdtemp(path.join(tmpdir(), 'infraudit-iam-state-'));
    try {
      const file = path.join(dir, 'state.json');
      const doc = iamDocument({
        lou: {
          keys: [
            { id: 'AKIALOU0000000000001', created: 1 },
            { id: 'AKIALOU0000000000002', created: 1 },
            { id: 'AKIALOU0000000000003', created: 1 },
          ],
        },
      });
      await writeFile(file, JSON.stringify(doc));
      await expect(startSandbox({ statePath: file })).rejects.toThrow(
        /accounts\.111122223333\.iam\.users\.lou\.accessKeys holds 3 keys; IAM allows at most 2/,
      );
      const lastUsed = iamDocument({ mia: { keys: [{ id: 'AKIAMIA0000000000001', created: 1 }] } });
      (
        lastUsed.accounts['111122223333']!.iam as {
          users: { mia: { accessKeys: { lastUsed: unknown }[] } };
        }
      ).users.mia.accessKeys[0]!.lastUsed = {
        date: 'yesterday',
        serviceName: 's3',
        region: 'us-east-1',
      };
      await writeFile(file, JSON.stringify(lastUsed));
      await expect(startSandbox({ statePath: file })).rejects.toThrow(
        /mia\.accessKeys\[0\]\.lastUsed\.date must be an ISO 8601 time, got "yesterday"/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
