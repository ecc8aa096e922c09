import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics. One registry per process, because a process is one
 * replica: every part of the product counts into the same place, and `/metrics` renders it.
 * Gauges that describe the shared database (actions by status, queue depth) are filled
 * right before each scrape by `collectStoreGauges`, so every replica reports the same truth.
 */
export const registry = new Registry();

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export const metrics = {
  replica: new Gauge({
    name: 'infraudit_replica_info',
    help: 'Always 1; the label names the replica that serves this endpoint',
    labelNames: ['replica'] as const,
    registers: [registry],
  }),
  liveReplicas: new Gauge({
    name: 'infraudit_live_replicas',
    help:
      "Replicas live in the replicas table (this one included) at this replica's last " +
      'heartbeat; its share of the cloud call limits follows this count',
    registers: [registry],
  }),
  actions: new Gauge({
    name: 'infraudit_actions',
    help: 'Actions in the database by status and fix type',
    labelNames: ['status', 'type'] as const,
    registers: [registry],
  }),
  queueDepth: new Gauge({
    name: 'infraudit_queue_depth',
    help: 'Execute and rollback requests waiting for an engine',
    labelNames: ['request'] as const,
    registers: [registry],
  }),
  executionSeconds: new Histogram({
    name: 'infraudit_execution_duration_seconds',
    help: 'Time from claim to settlement of an execution, by fix type and final status',
    labelNames: ['type', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  rollbackSeconds: new Histogram({
    name: 'infraudit_rollback_duration_seconds',
    help: 'Time from claim to settlement of a rollback, by fix type and final status',
    labelNames: ['type', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  }),
  cloudErrors: new Counter({
    name: 'infraudit_cloud_errors_total',
    help: 'Cloud calls made by the engine that failed, by service and error code',
    labelNames: ['service', 'code'] as const,
    registers: [registry],
  }),
  cloudThrottled: new Counter({
    name: 'infraudit_cloud_throttled_total',
    help: 'Cloud calls answered with a throttling error; the engine backed off each time',
    labelNames: ['service'] as const,
    registers: [registry],
  }),
  cloudWaiting: new Gauge({
    name: 'infraudit_cloud_calls_waiting',
    help: 'Cloud calls held back by the per-account, per-service concurrency or rate limit',
    labelNames: ['service'] as const,
    registers: [registry],
  }),
  cloudConcurrencyLimit: new Gauge({
    name: 'infraudit_cloud_concurrency_limit',
    help: 'Cloud calls in flight allowed per account and service on this replica',
    registers: [registry],
  }),
  cloudRateLimit: new Gauge({
    name: 'infraudit_cloud_rate_limit_per_second',
    help: 'Cloud calls per second allowed per account and service on this replica',
    registers: [registry],
  }),
  executionsPerHourLimit: new Gauge({
    name: 'infraudit_executions_per_hour_limit',
    help: 'Executions allowed to start per rolling hour (0: no limit), by scope',
    labelNames: ['scope'] as const,
    registers: [registry],
  }),
  executionsHeld: new Counter({
    name: 'infraudit_executions_held_total',
    help: 'Engine passes that left execute requests queued because the hourly limit was reached',
    registers: [registry],
  }),
  leaseExpiries: new Counter({
    name: 'infraudit_lease_expiries_total',
    help: 'Running actions this replica took over because their engine stopped renewing the lease',
    registers: [registry],
  }),
  leasesLost: new Counter({
    name: 'infraudit_leases_lost_total',
    help: 'Running actions this replica stopped because another engine had taken them over',
    registers: [registry],
  }),
  leasesHandedBack: new Counter({
    name: 'infraudit_leases_handed_back_total',
    help: 'Running actions released at shutdown for another replica to settle',
    registers: [registry],
  }),
  finalizeSteps: new Counter({
    name: 'infraudit_finalize_steps_total',
    help: 'Post-window final steps run by this replica, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  alertDeliveryFailures: new Counter({
    name: 'infraudit_alert_delivery_failures_total',
    help: 'Alert deliveries that failed, by channel',
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
};

/** What the store reports for the gauges that describe the shared database. */
export interface StoreFigures {
  actions: { status: string; type: string; count: number }[];
  queue: { request: string; count: number }[];
}

export function collectStoreGauges(figures: StoreFigures): void {
  metrics.actions.reset();
  for (const row of figures.actions) {
    metrics.actions.set({ status: row.status, type: row.type }, row.count);
  }
  metrics.queueDepth.reset();
  for (const request of ['execute', 'rollback']) metrics.queueDepth.set({ request }, 0);
  for (const row of figures.queue) metrics.queueDepth.set({ request: row.request }, row.count);
}
