import { describe, expect, it } from 'vitest';
import { newId } from '../src/store/ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('row ids', () => {
  it('are version 7 UUIDs that carry their time and sort by it', () => {
    const at = Date.parse('2026-12-05T01:00:00.123Z');
    const id = newId(at);
    expect(id).toMatch(V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
    const later = [at + 1, at + 1000, at + 86_400_000].map((ms) => newId(ms));
    expect([...later, id].sort()).toEqual([id, ...later]);
  });

  it('are all different, thousands within one millisecond', () => {
    const at = Date.now();
    const ids = Array.from({ length: 10_000 }, (_, i) => newId(i % 2 ? at : at + 1));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 100)) expect(id).toMatch(V7);
  });
});
