import { describe, expect, it } from 'vitest';
import { hashPassword, oneTimePassword, verifyPassword } from '../src/api/password.ts';

describe('password hashing', () => {
  it('stores scrypt with its parameters and a salt of its own per hash', async () => {
    const a = await hashPassword('the same password');
    const b = await hashPassword('the same password');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('the same password');
    expect(await verifyPassword('the same password', a)).toBe(true);
    expect(await verifyPassword('the same password', b)).toBe(true);
    expect(await verifyPassword('the same passworD', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('verifies with the parameters stored in the hash, and refuses anything else', async () => {
    const stored = await hashPassword('parameters travel');
    const [, , r, p, salt, key] = stored.split('$');
    // A hash made with other parameters is not the same hash.
    expect(await verifyPassword('parameters travel', `scrypt$16384$${r}$${p}$${salt}$${key}`)).toBe(
      false,
    );
    expect(await verifyPassword('parameters travel', `bcrypt$1$2$3$${salt}$${key}`)).toBe(false);
    expect(await verifyPassword('parameters travel', 'garbage')).toBe(false);
    // No stored hash (an unknown user): false, after the same work as a real check.
    expect(await verifyPassword('parameters travel', undefined)).toBe(false);
  });

  it('makes one-time passwords of 20 random URL-safe characters', () => {
    const seen = new Set(Array.from({ length: 50 }, () => oneTimePassword()));
    expect(seen.size).toBe(50);
    for (const p of seen) expect(p).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });
});
