import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { SandboxInputError } from '../api-error.ts';

/**
 * Starting states made from what AWS itself returns: a ListAccessKeys answer (as the
 * AWS CLI prints it or as a boto3 recording stores it) or an IAM credential report.
 * The result goes under `accounts[id].iam` of a state document.
 */

interface RawKey {
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createDate: string;
  lastUsed: { date: string; serviceName: string; region: string } | null;
}

interface RawUser {
  userId: string;
  path: string;
  /** Left out when the source does not say: the sandbox then takes the load time. */
  createDate?: string;
  accessKeys: RawKey[];
}

export interface RawIam {
  users: Record<string, RawUser>;
  root: { createDate?: string; accessKeys: RawKey[] };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A stable made-up id for what the source does not name (user ids, report keys). */
function madeUpId(prefix: string, seed: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest();
  let out = prefix;
  for (let i = 0; i < length; i += 1) out += BASE32[(digest[i] ?? 0) % 32];
  return out;
}

/** An ISO time from an ISO string, a Date, or a boto3 recording's datetime object. */
export function awsTime(value: unknown, where: string): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) {
    return new Date(value).toISOString();
  }
  if (typeof value === 'object' && value !== null) {
    const t = value as Record<string, number>;
    if ((value as { __class__?: unknown }).__class__ === 'datetime') {
      const ms = Math.floor((t.microsecond ?? 0) / 1000);
      return new Date(
        Date.UTC(
          t.year ?? 0,
          (t.month ?? 1) - 1,
          t.day ?? 1,
          t.hour ?? 0,
          t.minute ?? 0,
          t.second ?? 0,
          ms,
        ),
      ).toISOString();
    }
  }
  throw new SandboxInputError(`${where} is not a time: ${JSON.stringify(value)}`);
}

function user(name: string, createDate: string | undefined, path = '/'): RawUser {
  return {
    userId: madeUpId('AIDA', `user:${name}`, 17),
    path,
    ...(createDate ? { createDate } : {}),
    accessKeys: [],
  };
}

/**
 * Users and their keys from ListAccessKeys' `AccessKeyMetadata`, or the whole answer
 * (`{ AccessKeyMetadata }`, or a recording's `{ data: { AccessKeyMetadata } }`). A user
 * is taken to exist since its oldest key was made; no key was ever used.
 */
export function iamFromListAccessKeys(answer: unknown): RawIam {
  const body = (answer as { data?: unknown })?.data ?? answer;
  const metadata = Array.isArray(body)
    ? body
    : (body as { AccessKeyMetadata?: unknown })?.AccessKeyMetadata;
  if (!Array.isArray(metadata)) {
    throw new SandboxInputError('a ListAccessKeys answer needs an AccessKeyMetadata list');
  }
  const iam: RawIam = { users: {}, root: { accessKeys: [] } };
  metadata.forEach((raw: Record<string, unknown>, i) => {
    const where = `AccessKeyMetadata[${i}]`;
    const name = raw.UserName;
    if (typeof name !== 'string' || typeof raw.AccessKeyId !== 'string') {
      throw new SandboxInputError(`${where} needs UserName and AccessKeyId`);
    }
    const createDate = awsTime(raw.CreateDate, `${where}.CreateDate`);
    const owner = (iam.users[name] ??= user(name, createDate));
    if (!owner.createDate || createDate < owner.createDate) owner.createDate = createDate;
    owner.accessKeys.push({
      accessKeyId: raw.AccessKeyId,
      status: raw.Status === 'Inactive' ? 'Inactive' : 'Active',
      createDate,
      lastUsed: null,
    });
  });
  return iam;
}

/** Values a credential report writes for "nothing here". */
const EMPTY = new Set(['N/A', 'no_information', 'not_supported', '']);
const ROOT_ROW = '<root_account>';

/**
 * Users, keys and the root's keys from a credential report (the CSV in
 * GetCredentialReport's `Content`). The report names no key ids, so each key gets a
 * stable made-up one. A user listed twice is merged, the later row winning per key.
 */
export function iamFromCredentialReport(csv: string): { account: string | undefined; iam: RawIam } {
  const rows = parse(csv, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const iam: RawIam = { users: {}, root: { accessKeys: [] } };
  let account: string | undefined;
  const slots = new Map<string, Map<number, RawKey>>();
  for (const [i, row] of rows.entries()) {
    const name = row.user ?? '';
    const arn = row.arn ?? '';
    account ??= arn.split(':')[4];
    const created = value(row.user_creation_time);
    const where = `credential report row ${i + 2}`;
    if (name !== ROOT_ROW) {
      const path = arn.split(':user')[1]?.replace(/[^/]*$/, '') || '/';
      const since = created ? awsTime(created, `${where} user_creation_time`) : undefined;
      iam.users[name] ??= user(name, since, path);
    } else if (created) {
      iam.root.createDate = awsTime(created, `${where} user_creation_time`);
    }
    const keys = slots.get(name) ?? new Map<number, RawKey>();
    slots.set(name, keys);
    for (const slot of [1, 2]) {
      const rotated = value(row[`access_key_${slot}_last_rotated`]);
      if (!rotated) continue;
      const usedAt = value(row[`access_key_${slot}_last_used_date`]);
      keys.set(slot, {
        accessKeyId: madeUpId('AKIA', `key:${name}:${slot}`, 16),
        status: row[`access_key_${slot}_active`] === 'true' ? 'Active' : 'Inactive',
        createDate: awsTime(rotated, `${where} access_key_${slot}_last_rotated`),
        lastUsed: usedAt
          ? {
              date: awsTime(usedAt, `${where} access_key_${slot}_last_used_date`),
              serviceName: row[`access_key_${slot}_last_used_service`] ?? 'N/A',
              region: row[`access_key_${slot}_last_used_region`] ?? 'N/A',
            }
          : null,
      });
    }
  }
  for (const [name, keys] of slots) {
    const list = [...keys.values()];
    if (name === ROOT_ROW) iam.root.accessKeys = list;
    else if (iam.users[name]) iam.users[name].accessKeys = list;
  }
  return { account, iam };
}

function value(raw: string | undefined): string | undefined {
  return raw === undefined || EMPTY.has(raw) ? undefined : raw;
}
