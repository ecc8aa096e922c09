import path from 'node:path';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { AppError } from '../src/domain/errors.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import type { Store } from '../src/store/store.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import {
  corpusDir,
  expectCorpusPresent,
  prowlerFile,
  ENCRYPTION_CHECK,
} from './helpers/findings.ts';

/**
 * Whatever text arrives as a findings file, the importer answers with its findings or
 * with a clear refusal (`invalid_input` or `unsupported`); never a crash, and a refused
 * file records nothing.
 */

const SAMPLES = [
  'prowler/examples__output__example_output_aws.ocsf.json',
  'aws-solutions-asr/afsbp-s3.1.json',
  'aws-solutions-asr/afsbp-ec2.2.json',
];

function refusedCleanly(text: string): void {
  try {
    parseFindingsFile(text);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(AppError);
    expect(['invalid_input', 'unsupported']).toContain((error as AppError).code);
    expect((error as AppError).message.length).toBeGreaterThan(10);
  }
}

describe('the importers under random and malformed input', () => {
  it('answer any JSON value with findings or a clear refusal', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => refusedCleanly(JSON.stringify(value))),
      { numRuns: 300 },
    );
  });

  it('answer finding-shaped documents with wrong types in every field', () => {
    const field = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
    );
    const ocsf = fc.record({
      metadata: fc.oneof(field, fc.record({ event_code: field, product: field })),
      status_code: field,
      severity: field,
      resources: fc.oneof(field, fc.array(fc.record({ uid: field, type: field, region: field }))),
      finding_info: fc.oneof(field, fc.record({ uid: field, title: field })),
      cloud: fc.oneof(field, fc.record({ account: fc.record({ uid: field }) })),
    });
    const asff = fc.record({
      SchemaVersion: field,
      Id: field,
      GeneratorId: field,
      AwsAccountId: field,
      Resources: fc.oneof(field, fc.array(fc.record({ Type: field, Id: field }))),
      Compliance: fc.oneof(field, fc.record({ Status: field })),
      Severity: fc.oneof(field, fc.record({ Label: field })),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(ocsf, { minLength: 1, maxLength: 3 }),
          fc.array(asff, { minLength: 1, maxLength: 3 }),
          fc.record({ Findings: fc.array(asff, { maxLength: 3 }) }),
        ),
        (document) => refusedCleanly(JSON.stringify(document)),
      ),
      { numRuns: 300 },
    );
  });

  it('answer random text, control characters and huge nesting with a refusal', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), refusedCleanly), {
      numRuns: 300,
    });
    for (const text of [
      '{"a":'.repeat(20_000),
      '['.repeat(50_000) + ']'.repeat(50_000),
      '\uFEFF',
      '\u0000',
      '"' + 'x'.repeat(1_000_000),
      '[' + '1,'.repeat(100_000) + '1]',
    ]) {
      refusedCleanly(text);
    }
  });

  it('answer real files cut off anywhere, or with a byte changed, without a crash', () => {
    expectCorpusPresent();
    for (const file of SAMPLES) {
      const text = readFileSync(path.join(corpusDir, file), 'utf8');
      fc.assert(
        fc.property(fc.integer({ min: 0, max: text.length - 1 }), (cut) =>
          refusedCleanly(text.slice(0, cut)),
        ),
        { numRuns: 60 },
      );
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: text.length - 1 }),
          fc.constantFrom('{', '}', '"', ',', ':', '\\', '\u0000', ']'),
          (at, char) => refusedCleanly(text.slice(0, at) + char + text.slice(at + 1)),
        ),
        { numRuns: 60 },
      );
    }
  });
});

describe.each(ENGINES)('a refused import on %s', (engine) => {
  let store: Store;
  storePerSuite(engine, (s) => {
    store = s;
  });

  it('records nothing', async () => {
    const service = createRemediationService({ store, catalog: createCatalog() });
    const good = prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'fuzz-import' }]);
    await service.importFindings(good, 'token:importer');
    const before = JSON.stringify({
      head: (await store.verifyAudit()).head,
      counts: await store.countByStatus(),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: good.length - 2 }), async (cut) => {
        await expect(
          service.importFindings(good.slice(0, cut), 'token:importer'),
        ).rejects.toBeInstanceOf(AppError);
      }),
      { numRuns: engine === 'sqlite' ? 40 : 15 },
    );
    const after = JSON.stringify({
      head: (await store.verifyAudit()).head,
      counts: await store.countByStatus(),
    });
    expect(after).toBe(before);
  });

  it('refuses NUL or a lone surrogate in any stored text, naming the finding', async () => {
    const service = createRemediationService({ store, catalog: createCatalog() });
    const good = prowlerFile([
      { check: ENCRYPTION_CHECK, bucket: 'fuzz-text-a' },
      { check: ENCRYPTION_CHECK, bucket: 'fuzz-text-b' },
    ]);
    const state = async () =>
      JSON.stringify({
        head: (await store.verifyAudit()).head,
        counts: await store.countByStatus(),
        findings: (await store.listFindings({ limit: 500 })).items.length,
      });
    const before = await state();
    // Every string of the second finding that the importer keeps, by its quoted value.
    const strings = [...good.matchAll(/"((?:[^"\\]|\\.)*)"/g)]
      .map((m) => m[1]!)
      .filter((text) => text.includes('fuzz-text-b'));
    expect(strings.length).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...strings),
        fc.constantFrom('\\u0000', '\\ud800', '\\udc00'),
        async (text, bad) => {
          const file = good.replaceAll(`"${text}"`, `"${text}${bad}"`);
          const refusal = await service.importFindings(file, 'token:importer').then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(refusal, `${text} + ${bad}`).toBeInstanceOf(AppError);
          expect((refusal as AppError).message).toMatch(/^finding 2: findings\[1\]\./);
        },
      ),
      { numRuns: engine === 'sqlite' ? 20 : 8 },
    );
    expect(await state()).toBe(before);
  });
});
