import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { AppError } from '../src/domain/errors.ts';
import { JsonArraySplitter, MAX_ELEMENT_BYTES } from '../src/findings/json-stream.ts';
import {
  importFindings,
  importFindingsStream,
  type ImportDeps,
  type ImportProgress,
} from '../src/service/import.ts';
import type { Store } from '../src/store/store.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import { corpusDir, ENCRYPTION_CHECK, prowlerFile, readCorpus } from './helpers/findings.ts';
import { refusal } from './helpers/refusal.ts';

/** The text cut into chunks of `size` bytes, as a socket or file stream hands it over. */
async function* chunks(text: string, size: number): AsyncIterable<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

function split(text: string, size: number): unknown[] {
  const splitter = new JsonArraySplitter();
  const bytes = Buffer.from(text, 'utf8');
  const out: unknown[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    for (const element of splitter.push(bytes.subarray(i, i + size))) {
      out.push(JSON.parse(element.text));
    }
  }
  splitter.end();
  return out;
}

const tooLarge = (limit: number) => new Error(`over ${limit}`);

describe('the JSON array splitter', () => {
  const tricky = [
    { a: 'brackets ] } [ { inside', b: ['x', { c: 'quote \\" and \\\\' }] },
    'a string with , commas',
    42,
    true,
    null,
    { unicode: 'é漢字🙂', empty: {}, list: [] },
    [1, [2, [3]]],
  ];
  const text = JSON.stringify(tricky, null, 2);

  it.each([1, 2, 3, 7, 64, 100_000])(
    'gives the same values as JSON.parse in chunks of %i bytes',
    (size) => {
      expect(split(text, size)).toEqual(tricky);
    },
  );

  it('reads an empty array, compact and spaced, and tells each element its line', () => {
    expect(split('[]', 1)).toEqual([]);
    expect(split(' [ \n ] \n', 2)).toEqual([]);
    const splitter = new JsonArraySplitter();
    const elements = splitter.push(Buffer.from('[\n{"a":1},\n\n{"b":\n2}\n]'));
    expect(elements.map((e) => [e.index, e.line, e.text])).toEqual([
      [0, 2, '{"a":1}'],
      [1, 4, '{"b":\n2}'],
    ]);
  });

  it('refuses what is not one JSON array, and a truncated one', () => {
    expect(refusal(() => split('{"a": 1}', 4)).message).toMatch(/does not start with \[/);
    expect(refusal(() => split('[1] [2]', 4)).message).toMatch(/more after the closing \]/);
    expect(refusal(() => split('[{"a":1} {"b":2}]', 4)).message).toMatch(/expected , or \]/);
    expect(refusal(() => split('[1,,2]', 4)).message).toMatch(/expected a finding/);
    expect(refusal(() => split('[1,]', 4)).message).toMatch(/expected a finding/);
    const truncated = refusal(() => split('[{"a": 1}, {"b": ', 4));
    expect(truncated.message).toMatch(/truncated/);
    expect(truncated.details).toMatchObject({ problem: 'truncated', index: 1 });
    expect(refusal(() => split('   ', 4)).details).toMatchObject({ problem: 'empty' });
    const huge = `[{"a": "${'x'.repeat(MAX_ELEMENT_BYTES + 2 * 1024 * 1024)}"}]`;
    expect(refusal(() => split(huge, 1024 * 1024)).details).toMatchObject({
      problem: 'too_large',
      index: 0,
    });
  });
});

const prowler = (n: number, offset = 0, status: 'FAIL' | 'PASS' = 'FAIL') =>
  Array.from({ length: n }, (_, i) => ({
    check: ENCRYPTION_CHECK,
    bucket: `stream-${offset + i}`,
    status,
  }));

describe.each(ENGINES)('streaming import on %s', { timeout: 60_000 }, (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });
  const deps = (extra: Partial<ImportDeps> = {}): ImportDeps => ({
    store,
    catalog: createCatalog(),
    now: new Date('2026-05-01T08:00:00Z'),
    actor: 'token:ops',
    ...extra,
  });
  const stream = (text: string, extra: Partial<ImportDeps> = {}, chunk = 97) =>
    importFindingsStream(chunks(text, chunk), deps(extra), { limitBytes: 1 << 20, tooLarge });

  it('stores every finding as a vulnerability, in batches, and reports progress', async () => {
    const progress: ImportProgress[] = [];
    const text = prowlerFile([
      ...prowler(5, 0),
      { check: 'iam_root_mfa_enabled', bucket: 'stream-nofix' },
      { check: ENCRYPTION_CHECK, bucket: 'stream-manual', status: 'MANUAL' },
    ]);
    const result = await stream(text, { batchSize: 3, onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({
      format: 'prowler-ocsf',
      batches: 3,
      counts: { total: 7, failed: 6, manual: 1, supported: 5, unsupported: 1, created: 5 },
      findings: { opened: 6, updated: 0, resolved: 0 },
    });
    expect(progress.map((p) => p.findings)).toEqual([3, 6, 7]);
    expect(progress.at(-1)?.bytes).toBe(Buffer.byteLength(text));

    const { items } = await store.listFindings({ text: 'stream-', limit: 500 });
    expect(items).toHaveLength(6);
    expect(new Set(items.map((f) => f.kind))).toEqual(new Set(['vulnerability']));
    const nofix = items.find((f) => f.resource.name === 'stream-nofix');
    expect(nofix).toMatchObject({ origin: 'prowler', remedy: null, status: 'open' });
    const fixable = items.find((f) => f.resource.name === 'stream-0');
    expect(fixable?.remedy).toEqual({ type: 's3.enable-default-encryption', params: {} });
    expect(await store.findingActions(fixable!.id)).toHaveLength(1);
  });

  it("creates a batch of actions with each one's events in order, and the chain verifies", async () => {
    // The same bucket twice in one batch: one action, both findings linked to it.
    const text = prowlerFile([
      ...prowler(3, 500),
      { check: ENCRYPTION_CHECK, bucket: 'stream-500', status: 'FAIL' },
    ]);
    const result = await stream(text, { batchSize: 10 });
    expect(result.counts).toMatchObject({ created: 3, linked: 1 });
    const ids = new Set(result.actions.map((a) => a.id));
    expect(ids.size).toBe(3);
    for (const id of ids) {
      const action = await store.getAction(id);
      expect(action?.status).toBe('pending_approval');
      const events = await store.events(id);
      expect(events.map((e) => [e.from, e.to])).toEqual([
        [null, 'suggested'],
        ['suggested', 'pending_approval'],
      ]);
      expect(events[0]!.id).toBeLessThan(events[1]!.id);
    }
    expect(await store.verifyAudit()).toMatchObject({ ok: true, problem: null });
  });

  it('counts findings a file names twice, within and across batches; the last report stands', async () => {
    const later = (minutes: number) =>
      new Date(Date.parse('2026-05-02T08:00:00Z') + minutes * 60_000);
    const text = prowlerFile([
      { check: ENCRYPTION_CHECK, bucket: 'stream-twice-a', severity: 'Low' },
      { check: ENCRYPTION_CHECK, bucket: 'stream-twice-a', severity: 'High' },
      { check: ENCRYPTION_CHECK, bucket: 'stream-twice-b', severity: 'Low' },
      { check: ENCRYPTION_CHECK, bucket: 'stream-twice-c' },
      { check: ENCRYPTION_CHECK, bucket: 'stream-twice-b', severity: 'Critical' },
    ]);
    const first = await stream(text, { batchSize: 3, now: later(0) });
    expect(first.batches).toBe(2);
    expect(first.findings).toMatchObject({ opened: 3, updated: 2, repeated: 2 });
    const { items } = await store.listFindings({ text: 'stream-twice-', limit: 10 });
    const severities = Object.fromEntries(items.map((f) => [f.resource.name, f.severity]));
    expect(severities).toEqual({
      'stream-twice-a': 'high',
      'stream-twice-b': 'critical',
      'stream-twice-c': 'medium',
    });

    // The same file again, later: every finding is reported again once, none repeated.
    const again = await stream(
      prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'stream-twice-c' }]),
      {
        now: later(5),
      },
    );
    expect(again.findings).toMatchObject({ updated: 1, repeated: 0 });
  });

  it('resolves findings a later import reports passed and closes their pending actions', async () => {
    await stream(prowlerFile(prowler(2, 100)));
    const result = await stream(prowlerFile(prowler(2, 100, 'PASS')));
    expect(result.findings).toMatchObject({ resolved: 2, opened: 0 });
    const { items } = await store.listFindings({ text: 'stream-10', status: ['resolved'] });
    expect(items.map((f) => f.resource.name).sort()).toEqual(['stream-100', 'stream-101']);
    for (const finding of items) {
      const [action] = await store.findingActions(finding.id);
      expect(action?.status).toBe('rejected');
      const events = await store.events(action!.id);
      expect(events.at(-1)?.comment).toBe('resolved: prowler reports the check passed');
    }
  });

  it('stops at a bad finding: earlier batches stay, nothing of its own batch is written', async () => {
    const findings = JSON.parse(prowlerFile(prowler(7, 200))) as Record<string, unknown>[];
    delete findings[5]!.metadata;
    const text = JSON.stringify(findings, null, 2);
    const error = await stream(text, { batchSize: 3 }).then(
      () => undefined,
      (e: unknown) => e as AppError,
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error?.message).toMatch(/^findings\[5\]\.metadata: expected an object/);
    expect(error?.message).toMatch(/line \d+/);
    expect(error?.message).toMatch(/the first 3 findings were imported, nothing after them$/);
    const { items } = await store.listFindings({ text: 'stream-20', limit: 500 });
    expect(items.map((f) => f.resource.name).sort()).toEqual([
      'stream-200',
      'stream-201',
      'stream-202',
    ]);
  });

  it('says exactly what was kept while batches read ahead wait for a slow store', async () => {
    const failure = async (findings: Record<string, unknown>[], slowStore: Store) =>
      importFindingsStream(
        chunks(JSON.stringify(findings, null, 2), 97),
        deps({ store: slowStore, batchSize: 2 }),
        { limitBytes: 1 << 20, tooLarge },
      ).then(
        () => undefined,
        (e: unknown) => e as AppError,
      );
    const pause = () => new Promise((resolve) => setTimeout(resolve, 30));
    let calls = 0;
    // Every write waits, so full batches pile up behind it while the file is read on.
    const slow: Store = {
      ...store,
      recordImport: async (...args) => {
        calls += 1;
        await pause();
        return store.recordImport(...args);
      },
    };
    const bad = JSON.parse(prowlerFile(prowler(13, 600))) as Record<string, unknown>[];
    delete bad[11]!.metadata;
    const refused = await failure(bad, slow);
    expect(refused?.message).toMatch(/the first 10 findings were imported, nothing after them$/);
    const stored = await store.listFindings({ text: 'stream-6', limit: 500 });
    expect(stored.items).toHaveLength(10);

    // A write that fails stops the import there: the batches read after it are dropped.
    const failing: Store = {
      ...store,
      recordImport: async (...args) => {
        calls += 1;
        await pause();
        if (calls === 3) throw new AppError('conflict', 'the database refused the batch');
        return store.recordImport(...args);
      },
    };
    calls = 0;
    const error = await failure(JSON.parse(prowlerFile(prowler(13, 700))), failing);
    expect(error?.message).toBe(
      'the database refused the batch; the first 4 findings were imported, nothing after them',
    );
    expect((await store.listFindings({ text: 'stream-7', limit: 500 })).items).toHaveLength(4);
  });

  it('keeps a refusal short when the bad text is nested thousands deep', async () => {
    const findings = JSON.parse(prowlerFile(prowler(2, 800))) as Record<string, unknown>[];
    findings[1]!.unmapped = { deep: 'DEEP' };
    // Written by hand: JSON.stringify itself runs out of stack this deep.
    const deep = `${'['.repeat(5000)}"nul \\u0000"${']'.repeat(5000)}`;
    const text = JSON.stringify(findings, null, 2).replace('"DEEP"', deep);
    const error = await stream(text).then(
      () => undefined,
      (e: unknown) => e as AppError,
    );
    expect(error?.message).toMatch(/^finding 2: findings\[1\]\.unmapped\.deep\[0\]/);
    expect(error?.message).toMatch(/more\)\.\.\..*\[0\] contains a NUL character/);
    // The second finding starts on the line after the first one's 80-odd lines.
    const secondStarts = JSON.stringify(findings.slice(0, 1), null, 2).split('\n').length;
    expect(error?.message).toContain(`(the finding starts at line ${secondStarts})`);
    expect(error?.details).toMatchObject({ line: secondStarts });
    expect(error!.message.length).toBeLessThan(600);
    expect(JSON.stringify(error!.details).length).toBeLessThan(600);
  });

  it('imports nothing from a file of one batch with a bad finding, or bad JSON', async () => {
    const findings = JSON.parse(prowlerFile(prowler(3, 300))) as Record<string, unknown>[];
    delete findings[2]!.resources;
    await expect(stream(JSON.stringify(findings))).rejects.toThrow(/findings\[2\]\.resources/);
    const broken = prowlerFile(prowler(2, 310)).replace('"severity_id": 3', '"severity_id": 3,,');
    await expect(stream(broken)).rejects.toThrow(
      /not valid JSON: expected a property name in double quotes, found ',' at line 1\d, in findings\[0\]; nothing was imported/,
    );
    await expect(stream(prowlerFile(prowler(2, 320)).slice(0, -200))).rejects.toThrow(
      /after 1 findings \(the file looks truncated\); nothing was imported$/,
    );
    for (const prefix of ['stream-30', 'stream-31', 'stream-32']) {
      expect((await store.listFindings({ text: prefix })).items).toEqual([]);
    }
  });

  it('reads other documents whole, within the size limit', async () => {
    const envelope = readCorpus('aws-solutions-asr/afsbp-s3.4.json');
    const result = await stream(envelope);
    expect(result).toMatchObject({ format: 'asff', findings: { opened: 1 } });
    await expect(
      importFindingsStream(chunks(envelope, 50), deps(), { limitBytes: 100, tooLarge }),
    ).rejects.toThrow('over 100');
  });

  it('imports the corpus files as vulnerabilities with origin, standard and control ids', async () => {
    expect(corpusDir).toBeTruthy();
    const prowlerResult = await stream(
      readCorpus('prowler/pr9704__test_prowler_output_large_1500__extract.ocsf.json'),
    );
    expect(prowlerResult.findings.opened).toBe(3);
    expect(prowlerResult.warnings).toEqual([]);
    const fromProwler = await store.listFindings({ text: 'resource-22' });
    expect(fromProwler.items.length).toBeGreaterThan(0);
    // Prowler's published sample gives every finding the placeholder id <finding_uid>: its
    // two failures are one finding, and the import says so.
    const sample = await stream(
      readCorpus('prowler/examples__output__example_output_aws.ocsf.json'),
    );
    expect(sample.findings).toMatchObject({ opened: 1, updated: 1, repeated: 1 });
    expect(sample.warnings).toEqual([
      expect.stringMatching(/^1 finding\(s\) repeat a finding id read earlier in the file/),
      expect.stringMatching(
        /^5 finding\(s\) hold template placeholders such as <finding_uid> .* documentation example/,
      ),
    ]);

    const hub = await importFindings(readCorpus('aws-solutions-asr/cis-41.json'), deps());
    expect(hub.findings.opened).toBe(1);
    const cis = await store.getFinding(
      (await store.listFindings({ kind: ['vulnerability'], text: '' })).items.find(
        (f) => f.origin === 'securityhub' && f.controlIds.some((c) => c.startsWith('CIS')),
      )!.id,
    );
    expect(cis).toMatchObject({
      kind: 'vulnerability',
      origin: 'securityhub',
      standard: expect.stringMatching(/CIS/),
      status: 'open',
    });
    expect(cis?.controlIds.length).toBeGreaterThan(0);

    const all = await store.listFindings({ limit: 500 });
    const prowlerFindings = all.items.filter((f) => f.origin === 'prowler' && f.standard);
    expect(prowlerFindings.length).toBeGreaterThan(0);
    for (const f of prowlerFindings) {
      expect(f.controlIds.some((c) => c.startsWith(`${f.standard} `))).toBe(true);
    }
  });
});
