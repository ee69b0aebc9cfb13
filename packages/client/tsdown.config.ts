import { defineConfig, type UserConfig } from 'tsdown';

// One build for every consumer: ESM (.mjs) and CommonJS (.cjs), each with its declarations and source maps;
// platform-neutral, since the same code runs in Node and in browsers.
const config: UserConfig = defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2022',
  fixedExtension: true,
  dts: true,
  sourcemap: true,
  clean: true,
});

export default config;
