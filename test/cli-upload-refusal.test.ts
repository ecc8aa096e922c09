import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliProcess } from './helpers/cli.ts';
import { ENCRYPTION_CHECK, prowlerFinding } from './helpers/findings.ts';
import { startServe, type ServeProcess } from './helpers/serve.ts';

/** The server's import limit here: small, so a file over it is quick to write. */
const LIMIT_MB = 1;
/**
 * Findings in each file: about 25 MB, far more than loopback buffers hold, so the server
 * answers while the CLI is still sending.
 */
const FINDINGS = 20_000;

let dataDir: string;
let serve: ServeProcess;
let env: Record<string, string>;

/**
 * Writes FINDINGS Prowler findings, the one at `badAt` (if any) malformed: as a top-level
 * array, which the server reads as it arrives, or inside an object, which it holds whole.
 */
async function writeFindings(file: string, badAt: number | null, inObject: boolean) {
  const out = createWriteStream(file);
  out.write(inObject ? '{"Findings":[' : '[');
  for (let i = 0; i < FINDINGS; i++) {
    const finding =
      i === badAt
        ? { ...prowlerFinding({ check: ENCRYPTION_CHECK, bucket: `upload-${i}` }), status_code: 42 }
        : prowlerFinding({ check: ENCRYPTION_CHECK, bucket: `upload-${i}`, status: 'PASS' });
    if (!out.write(`${i === 0 ? '' : ','}${JSON.stringify(finding)}`)) await once(out, 'drain');
  }
  out.end(inObject ? ']}' : ']');
  await once(out, 'finish');
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-upload-'));
  serve = await startServe(['--data', dataDir, '--port', '0'], {
    INFRAUDIT_IMPORT_LIMIT_MB: String(LIMIT_MB),
  });
  env = { INFRAUDIT_URL: serve.endpoints.api!, INFRAUDIT_DATA: dataDir };
}, 60_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) await serve.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('an upload the server refuses while the CLI is still sending it', () => {
  const cases: [
    name: string,
    badAt: number | null,
    inObject: boolean,
    message: RegExp,
    code: number,
  ][] = [
    [
      'a document over the import limit',
      null,
      true,
      /^error: the file is larger than the import limit of 1 MB; only a top-level JSON array is read as it arrives/,
      1,
    ],
    [
      'a bad finding early in a large file',
      3,
      false,
      /^error: findings\[3\]\.status_code: expected a non-empty string, found the number 42 .*nothing was imported\n$/,
      2,
    ],
  ];

  for (const [name, badAt, inObject, message, code] of cases) {
    it(`prints the server's refusal for ${name}, every time`, async () => {
      const file = path.join(dataDir, `upload-${badAt ?? 'large'}.json`);
      await writeFindings(file, badAt, inObject);
      // The answer racing the last bytes sent is what lost it; a few runs give it room to.
      for (let run = 0; run < 5; run++) {
        const res = await cliProcess(['findings', 'import', file], env);
        // Progress notes share stderr with the refusal, which is its one error line.
        const errors = res.stderr.split('\n').filter((line) => line.startsWith('error:'));
        expect(errors, res.stderr).toHaveLength(1);
        expect(`${errors[0]}\n`, res.stderr).toMatch(message);
        expect(res.code, res.stderr).toBe(code);
        expect(res.stdout).toBe('');
      }
    }, 120_000);
  }
});
