import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_YAML_ALIAS_COUNT, MAX_YAML_DEPTH } from '../src/findings/k8s/yaml-text.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';

const ROUTES = ['/api/v1/findings/import', '/api/v1/findings/import/stream'];

/** A Deployment without requests or limits: importing it opens findings. */
const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: shop
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: web
          image: example/${name}:1.0
`;

const HEAD = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n';

/** Anchors each holding nine aliases of the one before: 9^29 nodes once expanded. */
function aliasBomb(): string {
  let text = `${HEAD}data:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n`;
  for (let i = 1; i < 30; i++) {
    text += `  a${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  }
  return text;
}

/** Each anchor nests 400 levels around an alias of the one before. */
function aliasChain(): string {
  let text = `${HEAD}data:\n  c0: &c0 ${'['.repeat(400)}${']'.repeat(400)}\n`;
  for (let i = 1; i < 20; i++) {
    text += `  c${i}: &c${i} ${'['.repeat(400)}*c${i - 1}${']'.repeat(400)}\n`;
  }
  return text;
}

const REFUSED: [name: string, text: string, message: RegExp, details: object][] = [
  [
    'an alias bomb',
    aliasBomb(),
    /^not valid YAML: its aliases expand too far \(more than 100 copies .*"alias bomb"\); the first alias is \*a0 at line 7, column 12; nothing was imported$/,
    { problem: 'too_many_aliases', maxAliasCount: MAX_YAML_ALIAS_COUNT, line: 7, column: 12 },
  ],
  [
    'flow collections nested 20,000 deep',
    `${HEAD}data: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
    /^not valid YAML: mappings and sequences nest deeper than 512 levels at line 5, column \d+; nothing was imported$/,
    { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH, line: 5 },
  ],
  [
    'flow collections one level too deep',
    `${HEAD}data: ${'['.repeat(MAX_YAML_DEPTH)}${']'.repeat(MAX_YAML_DEPTH)}\n`,
    /^not valid YAML: mappings and sequences nest deeper than 512 levels at line 5, column 518; nothing was imported$/,
    { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH, line: 5, column: 518 },
  ],
  [
    'block sequences nested 20,000 deep',
    `${HEAD}data:\n  ${'- '.repeat(20_000)}x\n`,
    /^not valid YAML: mappings and sequences nest deeper than 512 levels at line 6, column \d+; nothing was imported$/,
    { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH, line: 6 },
  ],
  [
    'block mappings nested 1,000 deep',
    `${HEAD}data:\n${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n')} x\n`,
    /^not valid YAML: mappings and sequences nest deeper than 512 levels at line \d+, column \d+; nothing was imported$/,
    { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH },
  ],
  [
    'aliases that nest deeper than the text',
    aliasChain(),
    /^not valid YAML: with its aliases expanded, mappings and sequences nest deeper than 512 levels; nothing was imported$/,
    { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH, document: 1 },
  ],
  [
    'an alias inside its own anchor',
    `${deployment('loop')}---\n${HEAD}data: &self { list: [1, *self] }\n`,
    /^not valid YAML: document 2: the alias \*self at line 21, column 25 sits inside its own anchor, so the value would contain itself; nothing was imported$/,
    { problem: 'recursive_alias', document: 2, line: 21, column: 25 },
  ],
  [
    'an alias with no anchor',
    `${HEAD}data: { a: *missing }\n`,
    /^not valid YAML: \*missing at line 5, column 12 refers to no anchor .*; nothing was imported$/,
    { problem: 'unresolved_alias', document: 1, line: 5, column: 12 },
  ],
];

describe.each(ENGINES)("findings uploads at the parsers' limits (%s)", (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ database });
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const stored = async () =>
    (await api.call('GET', '/api/v1/findings?limit=500')).body.items.length as number;

  it.each(REFUSED)(
    'refuses %s as invalid input on both routes',
    async (_, text, message, details) => {
      const before = await stored();
      for (const route of ROUTES) {
        const res = await api.call('POST', route, { as: 'operator', raw: text });
        expect(res.status, res.text).toBe(400);
        expect(res.body.error.code).toBe('invalid_input');
        expect(res.body.error.message).toMatch(message);
        expect(res.body.error.message).not.toMatch(/call stack|Excessive alias|ReferenceError/);
        expect(res.body.error.details).toMatchObject(details);
      }
      expect(await stored()).toBe(before);
      expect(api.logLines.join('')).not.toMatch(/Excessive alias|Maximum call stack/);
    },
  );

  it('places a shape error in a JSON file nested too deep for the position scanner', async () => {
    const deep = `{"Findings": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    for (const route of ROUTES) {
      const res = await api.call('POST', route, { as: 'operator', raw: deep });
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.message).toMatch(
        /^Findings\[0\]: expected an object, found an array \(line 1, column 15\); .*nothing was imported$/,
      );
      expect(res.body.error.details).toMatchObject({ path: 'Findings[0]', line: 1, column: 15 });
    }
  });

  it('still reads anchors and aliases a manifest shares, and nesting up to the limit', async () => {
    const shared = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shared
  namespace: shop
  labels: &labels { app: shared, tier: web }
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
      annotations:
        deep: "${'['.repeat(600)}"
    spec:
      containers:
        - name: web
          image: example/shared:1.0
      nodeSelector: { nested: ${'['.repeat(MAX_YAML_DEPTH - 8)}${']'.repeat(MAX_YAML_DEPTH - 8)} }
`;
    const res = await api.call('POST', ROUTES[0]!, { as: 'operator', raw: shared });
    expect(res.status, res.text).toBe(200);
    expect(res.body.format).toBe('k8s-manifest');
    expect(res.body.counts.failed).toBeGreaterThan(0);
  });

  it.each(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'])(
    'takes a YAML file sent as %s on both routes',
    async (contentType) => {
      for (const route of ROUTES) {
        const name = `ct-${contentType.replace(/\W/g, '-')}-${route.endsWith('stream') ? 's' : 'w'}`;
        const res = await api.call('POST', route, {
          as: 'operator',
          raw: deployment(name),
          contentType: `${contentType}; charset=utf-8`,
        });
        expect(res.status, res.text).toBe(200);
        expect(res.body.format).toBe('k8s-manifest');
        expect(res.body.findings.opened).toBeGreaterThan(0);
      }
    },
  );

  it('names every accepted type when refusing another', async () => {
    for (const route of ROUTES) {
      const res = await api.call('POST', route, {
        as: 'operator',
        raw: deployment('xml'),
        contentType: 'application/xml',
      });
      expect(res.status).toBe(415);
      expect(res.body.error.details.accepted).toEqual([
        'application/json',
        'text/plain',
        'application/yaml',
        'application/x-yaml',
        'text/yaml',
        'text/x-yaml',
      ]);
    }
  });
});
