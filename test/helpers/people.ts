import { afterAll, beforeAll, expect } from 'vitest';
import type { Role } from '../../src/domain/status.ts';
import { startApi, type ApiHarness, type ApiHarnessOptions } from './api.ts';
import { createTestDatabase, type Engine, type TestDatabase } from './databases.ts';
import { addUser, browse, login, type Browser } from './session.ts';

/**
 * A fresh database of `engine` and the API over it for the tests of the enclosing suite,
 * with the harness's tokens of each role; both are closed and dropped after the suite.
 */
export function apiPerSuite(
  engine: Engine,
  options: Omit<ApiHarnessOptions, 'database'>,
  use: (api: ApiHarness, database: TestDatabase) => void,
): void {
  let database: TestDatabase | undefined;
  let api: ApiHarness | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ ...options, database });
    use(api, database);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  }, 60_000);
}

/** Creates a user with a known password and signs them in, as the console does. */
export async function signIn(
  api: ApiHarness,
  username: string,
  role: Role,
  password: string,
): Promise<Browser> {
  await addUser(api, username, role, password);
  const { status, text, browser } = await login(api, username, password);
  if (!browser) throw new Error(`signing in as "${username}" answered ${status}: ${text}`);
  return browser;
}

/** An admin token made in the console by a signed-in person. */
export async function mintToken(
  api: ApiHarness,
  browser: Browser,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ token: string; id: string }> {
  const res = await browse(api, browser, 'POST', '/api/v1/tokens', {
    body: { role: 'admin', name, ...extra },
  });
  expect(res.status, res.text).toBe(201);
  return { token: (res.body as any).token as string, id: (res.body as any).info.id as string };
}
