import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` writes the console (vite, from web/). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>InfraAudit</title></head>
<body><main><h1>The web console is not built</h1>
<p>Run <code>npm run build</code> in the InfraAudit folder, then reload this page.
The API works without it, at <a href="/api/v1/docs">/api/v1/docs</a>.</p></main></body></html>
`;

/** Lets replies send the console's files; the pages themselves come from `serveConsole`. */
export async function registerConsole(app: FastifyInstance, root = CONSOLE_DIST): Promise<void> {
  await app.register(fastifyStatic, { root, serve: false });
}

/**
 * Answers a GET outside the API with the web console: its hashed assets as files, and
 * index.html for any other path, so a shared link such as /actions?status=failed opens
 * the page it names. The console's paths are not routes: the server's not-found handler
 * calls this first, so the API's routes, access policy and JSON 404s stay as they are.
 * Returns undefined when the request is not the console's.
 */
export function serveConsole(
  request: FastifyRequest,
  reply: FastifyReply,
  apiPrefix: string,
  root = CONSOLE_DIST,
): FastifyReply | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const urlPath = request.url.split('?')[0]!;
  if (urlPath === apiPrefix || urlPath.startsWith(`${apiPrefix}/`)) return undefined;
  if (!existsSync(path.join(root, 'index.html'))) {
    return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
  }
  if (urlPath.startsWith('/assets/')) {
    let file: string;
    try {
      file = path.resolve(root, `.${decodeURIComponent(urlPath)}`);
    } catch {
      return undefined;
    }
    if (!file.startsWith(path.join(root, 'assets') + path.sep) || !isFile(file)) return undefined;
    // Asset names carry a content hash, so a browser may keep them for good.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .sendFile(path.relative(root, file));
  }
  return reply
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .sendFile('index.html');
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
