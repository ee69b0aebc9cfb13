import type { Plugin } from 'rolldown';
import { defineConfig, type UserConfig } from 'tsdown';

// One build for every consumer: ESM (.mjs) and CommonJS (.cjs), each with its declarations and source maps;
// platform-neutral, since the same code runs in Node and in browsers.
const config: UserConfig = defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2022',
  fixedExtension: true,
  // No declaration maps: they would point at sources the package does not ship.
  dts: { sourcemap: false },
  // In every build, including the one that makes the CommonJS declarations (which takes no `plugins`).
  inputOptions: (options) => ({ ...options, plugins: [options.plugins, dropDeclarationMapComments()] }),
  sourcemap: true,
  clean: true,
});

export default config;

/**
 * rolldown-plugin-dts drops the declaration maps (dts.sourcemap false) but the global `sourcemap` has already
 * written the `//# sourceMappingURL` comment into the .d.mts/.d.cts files: take it out, so no tool looks for a map.
 */
function dropDeclarationMapComments(): Plugin {
  return {
    name: 'drop-declaration-map-comments',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !/\.d\.[cm]?ts$/.test(chunk.fileName)) continue;
        chunk.code = chunk.code.replace(/\n\/\/# sourceMappingURL=\S+\.map\s*$/, '\n');
      }
    },
  };
}
