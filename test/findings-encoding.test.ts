import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { AppError } from '../src/domain/errors.ts';
import { firstInvalidUtf8 } from '../src/findings/encoding.ts';
import { importFindingsStream } from '../src/service/import.ts';
import type { Store } from '../src/store/store.ts';
import { startApi } from './helpers/api.ts';
import { storePerSuite } from './helpers/databases.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';

async function* chunks(bytes: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const tooLarge = (limit: number) => new Error(`over ${limit}`);

/** The findings of a Prowler file with a Latin-1 é (0xE9) in the second finding's message. */
function latin1File(layout: 'pretty' | 'minified') {
  const findings = [0, 1, 2].map((i) => ({
    check: ENCRYPTION_CHECK,
    bucket: `enc-${layout}-${i}`,
  }));
  const text = prowlerFile(findings);
  const json = layout === 'pretty' ? text : JSON.stringify(JSON.parse(text));
  const marked = json.replace(`S3 Bucket enc-${layout}-1 `, `S3 Bucket enc-${layout}-1 caf\u0000 `);
  const bytes = Buffer.from(marked, 'latin1');
  const offset = bytes.indexOf(0);
  bytes[offset] = 0xe9;
  const line = marked.slice(0, offset).split('\n').length;
  return { bytes, offset, line };
}

describe('findings files that are not UTF-8', () => {
  it('finds the first byte that is not part of a UTF-8 character, as the standard says', () => {
    const cases: [number[], number][] = [
      [[0x61, 0xc3, 0xa9, 0x62], 4],
      [[0xf0, 0x9f, 0x98, 0x80], 4],
      [[0x61, 0xe9, 0x62], 1],
      [[0xc0, 0x80], 0],
      [[0xed, 0xa0, 0x80], 0],
      [[0xf4, 0x90, 0x80, 0x80], 0],
      [[0x61, 0xe2, 0x82], 1],
    ];
    for (const [bytes, at] of cases) expect(firstInvalidUtf8(Buffer.from(bytes))).toBe(at);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (array) => {
        const bytes = Buffer.from(array);
        expect(firstInvalidUtf8(bytes) === bytes.length).toBe(isUtf8(bytes));
      }),
    );
  });
});

describe('importing a file that is not UTF-8', () => {
  let store: Store;
  storePerSuite('sqlite', (opened) => {
    store = opened;
  });
  const stream = (bytes: Buffer, chunk = 97) =>
    importFindingsStream(
      chunks(bytes, chunk),
      { store, catalog: createCatalog(), now: new Date(), actor: 'token:ops' },
      { limitBytes: 1 << 20, tooLarge },
    );

  it('refuses it naming the line and offset of the bad byte, storing nothing', async () => {
    for (const layout of ['pretty', 'minified'] as const) {
      const { bytes, offset, line } = latin1File(layout);
      for (const chunk of [97, 4096]) {
        const error = await stream(bytes, chunk).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AppError);
        expect((error as AppError).message).toMatch(
          new RegExp(
            `^the findings file is not UTF-8: byte 0xE9 at line ${line} \\(offset ${offset}\\) ` +
              'is not part of a UTF-8 character; save the file as UTF-8 .*; nothing was imported$',
          ),
        );
        expect((error as AppError).details).toMatchObject({ problem: 'encoding', line, offset });
      }
      expect((await store.listFindings({ text: `enc-${layout}` })).items).toEqual([]);
    }
  });

  it('names UTF-16 files as such, with or without a byte-order mark', async () => {
    const text = prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'enc-utf16' }]);
    const withBom = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    for (const bytes of [withBom, Buffer.from(text, 'utf16le')]) {
      await expect(stream(bytes)).rejects.toThrow(
        /^the findings file is UTF-16 or UTF-32, not UTF-8: save the file as UTF-8/,
      );
    }
  });

  it('keeps every UTF-8 character as written', async () => {
    const text = prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'enc-ok' }]).replace(
      `"title": "Check ${ENCRYPTION_CHECK}"`,
      `"title": "Check ${ENCRYPTION_CHECK}: café ☕ 𝄞"`,
    );
    await stream(Buffer.from(text, 'utf8'));
    const [finding] = (await store.listFindings({ text: 'enc-ok' })).items;
    expect(finding).toBeDefined();
    expect(finding!.title).toBe(`Check ${ENCRYPTION_CHECK}: café ☕ 𝄞`);
  });
});

describe('the import routes', () => {
  it('refuse a body that is not UTF-8 with a 400 naming the byte', async () => {
    const api = await startApi();
    try {
      const { bytes, line } = latin1File('pretty');
      for (const route of ['/api/v1/findings/import', '/api/v1/findings/import/stream']) {
        const res = await api.call('POST', route, { as: 'operator', raw: bytes });
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({
          code: 'invalid_input',
          details: { problem: 'encoding', line },
        });
      }
    } finally {
      await api.close();
    }
  });
});
