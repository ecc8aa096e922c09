import { execFile } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Checks a Prowler run reports, with the share of findings each gets. Two have a catalog
 * fix, so the import also creates actions, as a real import does; the rest are stored as
 * findings only.
 */
const CHECKS = [
  { id: 's3_bucket_default_encryption', type: 'AwsS3Bucket', share: 0.03 },
  { id: 's3_bucket_public_access', type: 'AwsS3Bucket', share: 0.02 },
  { id: 'ec2_instance_imdsv2_enabled', type: 'AwsEc2Instance', share: 0.35 },
  { id: 'iam_user_mfa_enabled_console_access', type: 'AwsIamUser', share: 0.3 },
  { id: 'cloudwatch_log_group_retention_policy_specific_days_enabled', type: 'Other', share: 0.3 },
];

const PADDING =
  'Ensure the resource follows the recommended configuration. Misconfigured resources ' +
  'may expose data or allow unauthorised access; review the related controls and apply ' +
  'the remediation described in the documentation of the provider. ';

/** One Prowler JSON-OCSF finding of about 3 KB, shaped as Prowler 5 writes them. */
function finding(i: number): object {
  let pick = (i * 7919) % 10_000;
  const check =
    CHECKS.find((c) => {
      pick -= c.share * 10_000;
      return pick < 0;
    }) ?? CHECKS[0]!;
  const region = ['us-east-1', 'eu-west-1', 'ap-southeast-2'][i % 3]!;
  const name = `bench-resource-${i}`;
  const uid =
    check.type === 'AwsS3Bucket'
      ? `arn:aws:s3:::${name}`
      : `arn:aws:ec2:${region}:111122223333:instance/${name}`;
  const status = i % 20 === 0 ? 'MANUAL' : i % 4 === 0 ? 'PASS' : 'FAIL';
  return {
    message: `${check.id} ${status} for ${name}`,
    metadata: {
      event_code: check.id,
      product: { name: 'Prowler', uid: 'prowler', vendor_name: 'Prowler', version: '5.0.0' },
      profiles: ['cloud', 'datetime'],
      tenant_uid: '',
      version: '1.4.0',
    },
    severity_id: 3,
    severity: ['Low', 'Medium', 'High', 'Critical'][i % 4],
    status: 'New',
    status_code: status,
    status_detail: `${name}: ${status}`,
    status_id: 1,
    activity_name: 'Create',
    activity_id: 1,
    finding_info: {
      created_time: 1739539623,
      created_time_dt: '2025-02-14T14:27:03.913874',
      desc: PADDING,
      product_uid: 'prowler',
      title: `Check ${check.id}`,
      types: ['Data Protection'],
      uid: `prowler-aws-${check.id}-111122223333-${region}-${name}`,
    },
    resources: [
      {
        cloud_partition: 'aws',
        region,
        data: { details: '', metadata: { arn: uid, name } },
        group: { name: check.id.split('_')[0] },
        labels: [],
        name,
        type: check.type,
        uid,
      },
    ],
    category_name: 'Findings',
    category_uid: 2,
    class_name: 'Detection Finding',
    class_uid: 2004,
    cloud: {
      account: { name: '', type: 'AWS Account', type_id: 10, uid: '111122223333', labels: [] },
      org: { name: '', uid: '' },
      provider: 'aws',
      region,
    },
    remediation: { desc: PADDING, references: ['https://docs.aws.amazon.com/'] },
    risk_details: PADDING.slice(0, 120),
    unmapped: {
      compliance: { 'CIS-2.0': ['2.1.1'], 'AWS-Foundational-Security-Best-Practices': ['s3'] },
    },
    time: 1739539623,
    time_dt: '2025-02-14T14:27:03.913874',
    type_uid: 200401,
    type_name: 'Detection Finding: Create',
  };
}

/** Writes the file a finding at a time, pretty-printed as Prowler writes it. */
export async function writeOcsfFile(file: string, n: number): Promise<number> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('[\n');
  for (let i = 0; i < n; i++) {
    const text = JSON.stringify(finding(i), null, 2).replace(/^/gm, '  ');
    await write(i + 1 < n ? `${text},\n` : `${text}\n`);
  }
  await write(']\n');
  out.end();
  await once(out, 'finish');
  // On disk before either side is timed: otherwise the kernel writes the file back while
  // the import runs, and every commit of the import waits behind those writes.
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return statSync(file).size;
}

export interface ChildFigures {
  seconds: number;
  /** Peak resident set size of the child process, in bytes. */
  maxRssBytes: number;
  /** Its resident set size once its code was loaded, before the file was read. */
  startRssBytes: number;
  findings: number;
}

/**
 * The node flags the product's launcher starts the server with: the first line of
 * bin/infraudit.js, `#!/usr/bin/env -S node <flags>`.
 */
export function launcherFlags(): string[] {
  const launcher = readFileSync(join(import.meta.dirname, '../bin/infraudit.js'), 'utf8');
  const first = launcher.split('\n')[0]!;
  const prefix = '#!/usr/bin/env -S node';
  if (!first.startsWith(prefix)) throw new Error(`bin/infraudit.js starts "${first}"`);
  return first.slice(prefix.length).split(/\s+/).filter(Boolean);
}

/**
 * Runs bench/import-child.ts in its own process, so its peak memory is its own: the
 * import with the flags the server runs with, the bare parse with node's defaults.
 */
async function child(args: string[], flags: string[] = []): Promise<ChildFigures> {
  const { stdout } = await run(
    process.execPath,
    [...flags, join(import.meta.dirname, 'import-child.ts'), ...args],
    { maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildFigures;
}

export interface ImportBenchResult {
  findings: number;
  fileBytes: number;
  /** The faster of the two bare parses. */
  parse: ChildFigures;
  /** Both bare parses' times, before and after the import. */
  parseSeconds: [number, number];
  stream: ChildFigures;
  /** Streaming import throughput over the faster bare JSON.parse's throughput. */
  ratio: number;
}

/**
 * The bare parse runs before the import and again after it, and the import is compared
 * with the faster of the two: a parse can be slowed by what the machine was doing just
 * before (the first read of a file just written has been seen to take twice as long), and
 * that must not flatter the import.
 */
export async function importBench(n: number): Promise<ImportBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'infraudit-bench-import-'));
  try {
    const file = join(dir, 'prowler.ocsf.json');
    const fileBytes = await writeOcsfFile(file, n);
    const before = await child(['parse', file]);
    const stream = await child(['import', file, join(dir, 'data')], launcherFlags());
    const after = await child(['parse', file]);
    const parse = before.seconds <= after.seconds ? before : after;
    return {
      findings: n,
      fileBytes,
      parse,
      parseSeconds: [before.seconds, after.seconds],
      stream,
      ratio: parse.seconds / stream.seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
