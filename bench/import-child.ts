import { createReadStream, readFileSync } from 'node:fs';

/**
 * One side of the import benchmark, run in a process of its own so that its peak
 * resident memory (`maxRSS`) is its own: `parse <file>` reads the file and JSON.parses it
 * whole; `import <file> <dataDir>` streams it into a fresh SQLite store. Prints one line of
 * JSON with the figures.
 */
const [mode, file, dataDir] = process.argv.slice(2);
if (!file || (mode !== 'parse' && mode !== 'import')) {
  throw new Error('usage: import-child.ts parse <file> | import <file> <dataDir>');
}

let findings = 0;
// What the process holds before reading the file: node, the product's code, the store.
let startRssBytes = process.memoryUsage().rss;
let started = performance.now();
if (mode === 'parse') {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
  findings = parsed.length;
} else {
  // Loaded here, so the JSON.parse side does not carry the product's code in its memory.
  const { createCatalog } = await import('../src/catalog/index.ts');
  const { importFindingsStream } = await import('../src/service/import.ts');
  const { openStore } = await import('../src/store/connect.ts');
  const store = await openStore({ dataDir: dataDir as string });
  const catalog = createCatalog();
  startRssBytes = process.memoryUsage().rss;
  started = performance.now();
  try {
    const result = await importFindingsStream(
      // Chunks of the size a socket or file stream hands over (64 KiB).
      createReadStream(file),
      { store, catalog, now: new Date(), actor: 'bench' },
      {
        limitBytes: 100 * 1024 * 1024,
        tooLarge: () => new Error('the benchmark file is not an array'),
      },
    );
    findings = result.counts.total;
  } finally {
    await store.close();
  }
}
const seconds = (performance.now() - started) / 1000;
// resourceUsage reports maxRSS in kilobytes.
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ seconds, maxRssBytes, startRssBytes, findings })}\n`);
