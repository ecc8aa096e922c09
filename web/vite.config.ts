import { defineConfig } from 'vite';

/**
 * The console is a static bundle the API server serves from web/dist. It talks to the
 * API on the same origin, so `npm run dev:console` proxies /api to a running server.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': process.env.INFRAUDIT_URL ?? 'http://127.0.0.1:8080' },
  },
});
