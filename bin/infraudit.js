#!/usr/bin/env -S node --max-semi-space-size=4
// The CLI is TypeScript run directly through Node's type stripping (Node 22.18+/24).
//
// The flag above caps V8's young generation at 4 MiB per semi-space. A server that is busy
// (an import of a few hundred megabytes, a burst of requests) otherwise grows it to
// tens of megabytes that stay resident after the burst; the server's short-lived garbage
// is collected as well in a small one. Start the server through this file (as `npx
// infraudit`, `npm start` and the container do) to get it.
import '../src/cli/main.ts';
