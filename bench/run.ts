import { consoleBench } from './console.ts';
import { importBench, launcherFlags } from './import.ts';
import { lifecycleBench } from './lifecycle.ts';
import { queueBench } from './queue.ts';
import { replicasBench } from './replicas.ts';
import { scanBench } from './scan.ts';

/**
 * `npm run bench`: every figure comes from this one run, so ratios compare like with
 * like on whatever machine runs it. Sizes can be lowered for a quick look.
 */
const actions = Number(process.env.BENCH_ACTIONS ?? 2000);
const queueSize = Number(process.env.BENCH_QUEUE ?? 100_000);
const width = Number(process.env.BENCH_CONCURRENCY ?? 16);
const scanResources = Number(process.env.BENCH_SCAN_RESOURCES ?? 10_000);

const out = (line: string) => process.stdout.write(`${line}\n`);
const ms = (v: number) => `${v.toFixed(2)} ms`;

out(`node ${process.version}`);
const life = await lifecycleBench(actions, width);
out(
  `\nfull lifecycle, ${life.actions} S3 findings on SQLite over the sandbox (concurrency ${width})`,
);
out(`  bare SDK loop (4 calls per bucket): ${life.bareSeconds.toFixed(2)} s`);
out(
  '  InfraAudit (import the findings, plan, approve, snapshot, apply, verify): ' +
    `${life.productSeconds.toFixed(2)} s`,
);
out(`  throughput: ${life.actionsPerSecond.toFixed(0)} actions/s`);
out(`  ratio to the bare loop: ${(life.ratio * 100).toFixed(0)}% (goal >= 70%)`);

const queue = await queueBench(queueSize, 60);
out(`\nqueue page at ${queue.actions} actions (status + severity filter, newest first, 50 rows)`);
out(`  store: p50 ${ms(queue.store.p50)}, p95 ${ms(queue.store.p95)} (goal p95 < 10 ms)`);
out(`  bare indexed query: p50 ${ms(queue.bare.p50)}, p95 ${ms(queue.bare.p95)}`);
out(`  p95 ratio: ${queue.p95Ratio.toFixed(2)}x (goal <= 2x)`);

const consoleRun = await consoleBench(queueSize, 10);
out(`\nweb console in headless Chromium at ${consoleRun.actions} actions: time to first rows`);
out(`  first open, cold browser: ${ms(consoleRun.coldMs)} (goal < 1000 ms)`);
out(`  newest first, median of ${consoleRun.rounds}: ${ms(consoleRun.newestMedianMs)}`);
out(`  status + severity filter, median: ${ms(consoleRun.filteredMedianMs)}`);
out(
  `  built JavaScript: ${(consoleRun.jsBytes / 1024).toFixed(1)} KiB, ` +
    `${(consoleRun.jsGzipBytes / 1024).toFixed(1)} KiB gzip`,
);
out('  cold first open, ms from navigation start (start / first byte / end):');
for (const step of consoleRun.waterfall) {
  const firstByte = step.firstByteMs === undefined ? '' : ` / ${step.firstByteMs}`;
  out(`    ${step.name}: ${step.startMs}${firstByte} / ${step.endMs}`);
}

const scanRun = await scanBench(scanResources);
out(
  `\nscan of a sandbox account with ${scanRun.resources} resources (buckets, security groups, ` +
    'IAM users and keys) on SQLite: discover, store, check, record findings',
);
out(
  `  first scan: ${scanRun.firstSeconds.toFixed(2)} s, ${scanRun.firstPerSecond.toFixed(0)} ` +
    `resources/s, ${scanRun.findings} findings opened`,
);
out(
  `  scan again: ${scanRun.againSeconds.toFixed(2)} s, ${scanRun.againPerSecond.toFixed(0)} ` +
    'resources/s',
);

const imported = await importBench(Number(process.env.BENCH_IMPORT ?? 100_000));
const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(0)} MB`;
out(
  `\nstreaming import of a Prowler JSON-OCSF file, ${imported.findings} findings, ` +
    `${mb(imported.fileBytes)}, into SQLite (each side in its own process; the import with ` +
    `the server's node flags, ${launcherFlags().join(' ')})`,
);
out(
  `  streaming import: ${imported.stream.seconds.toFixed(2)} s, peak RSS ` +
    `${mb(imported.stream.maxRssBytes)} (goal < 256 MB), of which ${mb(imported.stream.startRssBytes)} ` +
    'before the first byte (the loaded code)',
);
out(
  `  bare JSON.parse of the file, before and after the import: ` +
    `${imported.parseSeconds.map((s) => `${s.toFixed(2)} s`).join(' / ')}, peak RSS ` +
    `${mb(imported.parse.maxRssBytes)}`,
);
out(`  throughput against the faster JSON.parse: ${imported.ratio.toFixed(2)}x (goal >= 0.5x)`);

const replicaActions = Number(process.env.BENCH_REPLICA_ACTIONS ?? 1000);
const replicaWidth = Number(process.env.BENCH_REPLICA_CONCURRENCY ?? 8);
const scale = await replicasBench(replicaActions, replicaWidth, 100);
out(
  `\nreplicas on PostgreSQL, ${scale.actions} executions, 100 ms injected on every cloud ` +
    `call (${scale.callsPerAction} per action); per replica: engine concurrency ` +
    `${scale.limits.engineConcurrency}, cloud calls ${scale.limits.cloudConcurrency} in flight ` +
    `and ${scale.limits.cloudRatePerSecond}/s per account and service`,
);
for (const run of scale.runs) {
  out(
    `  ${run.replicas} replica${run.replicas === 1 ? ' ' : 's'}: ${run.seconds.toFixed(2)} s, ` +
      `${run.actionsPerSecond.toFixed(1)} actions/s, ${(run.seconds / run.idealSeconds).toFixed(2)}x ` +
      `the ideal ${run.idealSeconds.toFixed(2)} s set by ${run.bound} (goal <= 1.25x)`,
  );
}
out(`  3 replicas over 1: ${scale.speedup.toFixed(2)}x (goal >= 2.5x)`);
