import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { CONSOLE_DIST } from '../src/api/console.ts';
import { startServer } from '../src/cli/server.ts';
import { openStore } from '../src/store/connect.ts';
import { ensureConsoleBuilt, launchChromium } from '../test/helpers/browser.ts';
import { fill } from './queue.ts';

/**
 * Opens the remediation queue in headless Chromium against a server holding `n` actions
 * and times navigation to the first rows on screen: the page, its script, sign-in by token,
 * and the first queue page and counts from the API. Two views: the default (newest first)
 * and a status + severity filter. The first round starts with a cold browser; the medians
 * are over all rounds.
 */
export async function consoleBench(n: number, rounds: number) {
  ensureConsoleBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'infraudit-bench-console-'));
  const migrate = await openStore({ dataDir });
  await migrate.close();
  const db = fill(join(dataDir, 'infraudit.db'), n);
  // fill() spreads the statuses evenly, so thousands of actions are executing or rolling
  // back with no lease: to a starting engine, work left by a crashed replica, which it loads
  // and takes over at once. Here another replica holds them, as it would the few running
  // actions of a live installation, so that recovery is not timed as the console's.
  db.prepare(
    "UPDATE actions SET lease_owner = 'bench-other-replica', lease_expires_at = ? " +
      "WHERE status IN ('executing', 'rolling_back')",
  ).run(new Date(Date.now() + 24 * 3600_000).toISOString());
  db.close();

  const server = await startServer({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    demo: false,
    sandboxPort: 0,
    engineConcurrency: 1,
    enginePollMs: 1000,
    importLimitBytes: 1024 * 1024,
    log: pino({ level: 'silent' }),
  });
  const token = readFileSync(server.tokenFile!, 'utf8').trim();
  // The process's own start-up (JIT, first connection) is not the console's to report.
  await (await fetch(`${server.apiUrl}/api/v1/health`)).text();
  const chromium = await launchChromium();
  const views: Record<string, number[]> = { newest: [], filtered: [] };
  let waterfall: Phase[] = [];
  try {
    const page = await chromium.page();
    // The console keeps a token sign-in in the tab's session storage; set it as sign-in would.
    await page.addInitScript((value) => sessionStorage.setItem('infraudit.token', value), token);
    for (let round = 0; round < rounds; round++) {
      for (const [view, query] of [
        ['newest', ''],
        ['filtered', '?status=pending_approval,approved&severity=high,critical'],
      ] as const) {
        const started = performance.now();
        await page.goto(`${server.apiUrl}/actions${query}`);
        await page.locator('table.queue tbody tr').first().waitFor({ state: 'visible' });
        views[view]!.push(performance.now() - started);
        if (round === 0 && view === 'newest') waterfall = await phases(page);
      }
    }
  } finally {
    await chromium.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const assets = join(CONSOLE_DIST, 'assets');
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(assets).filter((f) => f.endsWith('.js'))) {
    const bytes = readFileSync(join(assets, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  const median = (times: number[]) => [...times].sort((a, b) => a - b)[times.length >> 1]!;
  return {
    actions: n,
    rounds,
    coldMs: views.newest![0]!,
    newestMedianMs: median(views.newest!),
    filteredMedianMs: median(views.filtered!),
    jsBytes: raw,
    jsGzipBytes: gzip,
    waterfall,
  };
}

/** One step of the cold first open, in ms from the start of navigation. */
export interface Phase {
  name: string;
  startMs: number;
  /** When the first byte of the answer arrived; the rest is transfer. */
  firstByteMs?: number;
  endMs: number;
}

/**
 * Where the cold first open spent its time, from the browser's own navigation and
 * resource timing: the HTML, each script and style, each API request, and the moment the
 * first row was on screen (the gap after the script is parsing, compiling and running it).
 */
async function phases(page: Page): Promise<Phase[]> {
  return page.evaluate(() => {
    // Runs in the page: the browser's timing entries, typed by hand (no DOM library here).
    interface Entry {
      name: string;
      startTime: number;
      responseStart: number;
      responseEnd: number;
      domContentLoadedEventEnd: number;
    }
    const timing = performance as unknown as {
      getEntriesByType(type: string): Entry[];
      now(): number;
    };
    const round = (n: number) => Math.round(n);
    const nav = timing.getEntriesByType('navigation')[0]!;
    const list = [
      {
        name: 'HTML',
        startMs: 0,
        firstByteMs: round(nav.responseStart),
        endMs: round(nav.responseEnd),
      },
      ...timing.getEntriesByType('resource').map((entry) => {
        const url = new URL(entry.name);
        return {
          name: url.pathname + url.search,
          startMs: round(entry.startTime),
          firstByteMs: round(entry.responseStart),
          endMs: round(entry.responseEnd),
        };
      }),
      { name: 'DOMContentLoaded', startMs: 0, endMs: round(nav.domContentLoadedEventEnd) },
      { name: 'first row on screen', startMs: 0, endMs: round(timing.now()) },
    ];
    return list.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  });
}
