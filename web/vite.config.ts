import { defineConfig } from 'vite';

// Built by `npm start` (src/cli/webBuild.ts) and served by the gateway from web/dist.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 600,
  },
});
