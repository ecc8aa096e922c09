import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonArrayReader, type ReadElement } from '../src/findings/json-array-reader.ts';
import { JsonArraySplitter } from '../src/findings/json-stream.ts';
import { refusal } from './helpers/refusal.ts';

/** Everything the reader gives for `text` fed in chunks of `size` bytes. */
function read(text: string, size: number): ReadElement[] {
  const reader = new JsonArrayReader();
  const bytes = Buffer.from(text, 'utf8');
  const out: ReadElement[] = [];
  for (let i = 0; i < bytes.length; i += size)
    out.push(...reader.push(bytes.subarray(i, i + size)));
  out.push(...reader.end());
  return out;
}

/** The careful splitter's lines for the same text: what error messages must name. */
function carefulLines(text: string): number[] {
  const splitter = new JsonArraySplitter();
  const lines = splitter.push(Buffer.from(text, 'utf8')).map((e) => e.line);
  splitter.end();
  return lines;
}

const layouts = [
  { name: 'two spaces', write: (v: unknown) => JSON.stringify(v, null, 2) },
  {
    name: 'four spaces, CRLF',
    write: (v: unknown) => JSON.stringify(v, null, 4).replaceAll('\n', '\r\n'),
  },
  { name: 'tabs', write: (v: unknown) => JSON.stringify(v, null, '\t') },
  { name: 'one line', write: (v: unknown) => JSON.stringify(v) },
  {
    name: 'indented elements, compact inside',
    write: (v: unknown[]) => `[\n${v.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}\n]\n`,
  },
];

describe('the JSON array reader', () => {
  it.each(layouts)(
    'gives the values, places and lines of every element, laid out as $name, in any chunks',
    ({ write }) => {
      const element = fc.oneof(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
        fc.jsonValue({ maxDepth: 2 }),
      );
      fc.assert(
        fc.property(
          fc.array(element, { maxLength: 12 }),
          fc.integer({ min: 1, max: 300 }),
          (values, size) => {
            const text = write(values as unknown[]);
            const expected = JSON.parse(text) as unknown[];
            const got = read(text, size);
            expect(got.map((e) => e.value)).toEqual(expected);
            expect(got.map((e) => e.index)).toEqual(expected.map((_, i) => i));
            expect(got.map((e) => e.locate().line)).toEqual(carefulLines(text));
            for (const e of got) expect(JSON.parse(e.locate().text)).toEqual(e.value);
          },
        ),
        { numRuns: 150 },
      );
    },
  );

  it('reads a run of elements whose inner closes look like element closes', () => {
    // Valid JSON, but an inner object closes at the elements' own indentation: the guess
    // fails to parse and the careful path reads it.
    const text = '[\n  {\n  "a": {\n  },\n  "b": 1\n  },\n  {\n    "c": 2\n  }\n]\n';
    expect(read(text, 7).map((e) => e.value)).toEqual([{ a: {}, b: 1 }, { c: 2 }]);
  });

  it('names the line of a syntax error, even inside a run', () => {
    const good = JSON.stringify([{ a: 1 }, { b: 2 }, { c: 3 }], null, 2);
    const broken = good.replace('"b": 2', '"b": 2 "x": 3');
    const error = refusal(() => read(broken, 4096));
    expect(error.message).toMatch(/at line 6, in findings\[1\]/);
    expect(error.details).toMatchObject({ problem: 'syntax', index: 1, line: 6 });
  });

  it('refuses a truncated file and a trailing comma, and says what an empty file is', () => {
    const good = JSON.stringify([{ a: 1 }, { b: 2 }], null, 2);
    expect(refusal(() => read(good.slice(0, -3), 16)).details).toMatchObject({
      problem: 'truncated',
    });
    expect(refusal(() => read(good.replace(/\n\]$/, ',\n]'), 16)).message).toMatch(
      /expected a finding/,
    );
    expect(refusal(() => read('  \n ', 16)).details).toMatchObject({ problem: 'empty' });
    expect(read('[]', 1)).toEqual([]);
  });

  it('marks elements that may hold text no database keeps', () => {
    const text = JSON.stringify([{ a: 'fine' }, { a: 'nul \u0000 here' }, { a: 'fine' }], null, 2);
    // The first two are parsed as one run, marked as a whole (the importer then walks each
    // value); the last element, before the `]`, is always read on its own.
    expect(read(text, 1 << 16).map((e) => e.storable)).toEqual([false, false, true]);
    expect(read(text, 1 << 16).map((e) => e.value)).toEqual(JSON.parse(text));
    const clean = JSON.stringify([{ a: 'é漢字🙂' }, { b: 1 }], null, 2);
    expect(read(clean, 5).every((e) => e.storable)).toBe(true);
  });
});
