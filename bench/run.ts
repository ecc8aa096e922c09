import { lifecycleBench } from './lifecycle.ts';
import { queueBench } from './queue.ts';

/**
 * `npm run bench`: every figure comes from this one run, so ratios compare like with
 * like on whatever machine runs it. Sizes can be lowered for a quick look.
 */
const actions = Number(process.env.BENCH_ACTIONS ?? 2000);
const queueSize = Number(process.env.BENCH_QUEUE ?? 100_000);
const width = Number(process.env.BENCH_CONCURRENCY ?? 16);

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
