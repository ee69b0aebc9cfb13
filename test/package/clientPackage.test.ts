/// <reference lib="dom" />
// The page function below runs in Chromium: it needs the DOM types.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { launchChromium } from '../helpers/chromium.js';
import { startTestService } from '../helpers/service.js';

/**
 * @tickstream/client as a user gets it: `npm pack` (which builds it through `prepack`), then installed from the
 * tarball into a fresh project outside the repository, and used from plain Node (ESM and CommonJS), from
 * TypeScript (nodenext and bundler resolution) and from a page built by Vite, each against a real server.
 */

const run = promisify(execFile);
// TypeScript 7 (the project's) and 5.9 (what most users have; installed beside the package for TypeDoc).
const COMPILERS = {
  'typescript 7': join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'),
  'typescript 5.9': join(PROJECT_ROOT, 'packages/client/node_modules/typescript/bin/tsc'),
};

let work: string;
let app: string;
let service: Tickstream | undefined;
let browser: Browser | undefined;

/** The environment without npm's own variables (set when the tests run under `npm test`), for child npms. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
}

/** Bytes under `path`, files only. */
function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, entry) => total + sizeOf(join(path, entry)), 0);
}

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(app, name), text);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tickstream-client-'));
  app = join(work, 'app');
  mkdirSync(app);
  await run('npm', ['pack', '--workspace', '@tickstream/client', '--pack-destination', work], {
    cwd: PROJECT_ROOT,
    env: cleanEnv(),
  });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // From the tarball and npm's cache; the registry only for what the cache lacks.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], {
    cwd: app,
    env: cleanEnv(),
  });
  // Nothing for npm to run, or to list as an install script, on the user's machine.
  const manifest = JSON.parse(readFileSync(join(app, 'node_modules/@tickstream/client/package.json'), 'utf8'));
  const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare'];
  expect(Object.keys(manifest.scripts ?? {}).filter((name) => lifecycle.includes(name))).toEqual([]);
  console.log(
    `@tickstream/client: tarball ${(sizeOf(join(work, tarball)) / 1024).toFixed(1)} KB, installed with its ` +
      `dependencies ${(sizeOf(join(app, 'node_modules')) / 1024 / 1024).toFixed(1)} MB in ` +
      `${readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.')).length} top-level folders`,
  );
}, 180_000);

afterEach(async () => {
  await service?.close();
  service = undefined;
});

afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Runs a script of the app with Node against the server; it prints one JSON line and must exit by itself. */
async function nodeScript(file: string, url: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('node', [file, url], { cwd: app, timeout: 20_000 });
  return JSON.parse(stdout.trim()) as Record<string, unknown>;
}

// The same program twice: it watches, prints the first quote and closes, after which nothing may keep Node up.
const SCRIPT_BODY = `
const client = connect(process.argv[2], { transports: ['websocket'] });
client.watch(['aapl']).subscribe({
  next: (quote) => {
    console.log(JSON.stringify({ symbol: quote.symbol, price: formatPrice(quote.price), seq: quote.seq, errorClass: TickstreamError.name }));
    client.close();
  },
  error: (err) => {
    console.error(err);
    process.exit(1);
  },
});
`;

describe('@tickstream/client installed from its npm tarball', () => {
  it('has only its own dependencies: no server code', async () => {
    const installed = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'));
    for (const server of ['socket.io', 'redis', 'vite', 'pino', 'tsx', 'zod', 'luxon']) {
      expect(installed).not.toContain(server);
    }
    expect(installed).toEqual(expect.arrayContaining(['@tickstream', 'rxjs', 'socket.io-client']));
    const files = readdirSync(join(app, 'node_modules/@tickstream/client/dist')).sort();
    expect(files).toEqual(['index.cjs', 'index.cjs.map', 'index.d.cts', 'index.d.mts', 'index.mjs', 'index.mjs.map']);
    // Declarations point at no map (none is shipped); the code at its own, which holds its sources.
    for (const types of ['index.d.cts', 'index.d.mts']) {
      expect(readFileSync(join(app, 'node_modules/@tickstream/client/dist', types), 'utf8')).not.toContain(
        'sourceMappingURL',
      );
    }
    const map: { sources: string[]; sourcesContent?: string[] } = JSON.parse(
      readFileSync(join(app, 'node_modules/@tickstream/client/dist/index.mjs.map'), 'utf8'),
    );
    expect(map.sourcesContent?.length).toBe(map.sources.length);
  });

  it('imports from a plain .mjs script under Node', async () => {
    service = await startTestService();
    write({ 'esm.mjs': `import { connect, formatPrice, TickstreamError } from '@tickstream/client';\n${SCRIPT_BODY}` });
    const first = await nodeScript('esm.mjs', service.url);
    expect(first).toMatchObject({ symbol: 'AAPL', errorClass: 'TickstreamError' });
    expect(first.price).toMatch(/^\d{1,3}(,\d{3})*\.\d\d$/);
  });

  it('requires from a .cjs script under Node', async () => {
    service = await startTestService();
    write({
      'cjs.cjs': `const { connect, formatPrice, TickstreamError } = require('@tickstream/client');\n${SCRIPT_BODY}`,
    });
    expect(await nodeScript('cjs.cjs', service.url)).toMatchObject({ symbol: 'AAPL', errorClass: 'TickstreamError' });
  });

  it('typechecks a TypeScript user file under nodenext (ESM and CommonJS) and bundler resolution', async () => {
    const user = `import {
  type ConnectFailure,
  connect,
  type Quote,
  type Status,
  TickstreamError,
  formatPrice,
} from '@tickstream/client';
import type { Observable } from 'rxjs';

const client = connect('http://localhost:3000', { token: 'secret', reconnectionDelayMs: 250 });
const quotes: Observable<Quote> = client.watch(['AAPL', 'MSFT'], { maxHz: 4 });
quotes.subscribe({
  next: (quote) => {
    const price: number = quote.price;
    const text: string = formatPrice(price, { style: 'plain' });
    console.log(quote.symbol, text, quote.epoch, quote.seq, quote.changePct?.toFixed(2));
  },
  error: (err: unknown) => {
    if (err instanceof TickstreamError) {
      const code: 'BAD_REQUEST' | 'UNKNOWN_SYMBOL' | 'LIMIT_EXCEEDED' | 'RATE_LIMITED' | 'UNAUTHORIZED' | 'INTERNAL' =
        err.code;
      console.error(code, err.message);
    }
  },
});
client.connectFailures$.subscribe((failure: ConnectFailure) => {
  if (failure.reason === 'http') console.error(failure.status.toFixed(0));
});
client.status$.subscribe((status: Status) => console.log(status.feeds.map((feed) => feed.state)));
// @ts-expect-error maxHz is a number
client.watch(['AAPL'], { maxHz: 'fast' });
// @ts-expect-error a quote has no such field
quotes.subscribe((quote) => quote.last);
// @ts-expect-error only the protocol's codes
new TickstreamError('NOPE', 'no');
`;
    // The DOM library for console and the timers rxjs's types name (a Node project has them from @types/node).
    const common = {
      strict: true,
      noEmit: true,
      target: 'es2022',
      lib: ['es2022', 'dom'],
      types: [],
      skipLibCheck: false,
    };
    write({
      'user.ts': user,
      // CommonJS TypeScript: the same import compiles to require(), which resolves the .d.cts types.
      'user.cts': `import { connect, type Quote } from '@tickstream/client';\nconst q: Promise<Quote[]> = Promise.resolve([]);\nvoid q;\nconnect('http://localhost:3000').close();\n`,
      'tsconfig.nodenext.json': JSON.stringify({
        compilerOptions: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
        files: ['user.ts', 'user.cts'],
      }),
      'tsconfig.bundler.json': JSON.stringify({
        compilerOptions: { ...common, module: 'esnext', moduleResolution: 'bundler' },
        files: ['user.ts'],
      }),
    });
    for (const [compiler, tsc] of Object.entries(COMPILERS)) {
      for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
        const result = await run('node', [tsc, '-p', config], { cwd: app }).catch(
          (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? 'failed' }),
        );
        expect(`${result.stdout}${result.stderr}`, `${compiler}, ${config}`).toBe('');
      }
    }
    // And it does find errors: a wrong type in the user's file fails the check.
    write({ 'wrong.ts': `import { connect } from '@tickstream/client';\nconnect(3000);\n` });
    write({
      'tsconfig.wrong.json': JSON.stringify({
        compilerOptions: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
        files: ['wrong.ts'],
      }),
    });
    const wrong = await run('node', [COMPILERS['typescript 7'], '-p', 'tsconfig.wrong.json'], { cwd: app }).then(
      () => 'passed',
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    expect(wrong).toContain('TS2345');
  });

  it('builds into a page with Vite that runs in Chromium against a real server', async () => {
    write({
      'index.html': `<!doctype html><html><body><ul id="quotes"></ul><script type="module" src="./main.ts"></script></body></html>`,
      'main.ts': `import { connect, formatPrice } from '@tickstream/client';

const list = document.getElementById('quotes') as HTMLUListElement;
const client = connect(location.origin);
client.connection$.subscribe((state) => (document.body.dataset.connection = state));
client.watch(['AAPL', 'MSFT'], { maxHz: 4 }).subscribe((quote) => {
  let row = list.querySelector<HTMLLIElement>(\`[data-symbol="\${quote.symbol}"]\`);
  if (!row) {
    row = document.createElement('li');
    row.dataset.symbol = quote.symbol;
    list.append(row);
  }
  row.dataset.seq = String(quote.seq);
  row.textContent = \`\${quote.symbol} \${formatPrice(quote.price)}\`;
});
`,
    });
    const { build } = await import('vite');
    await build({ root: app, configFile: false, logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
    const assets = join(app, 'dist/assets');
    const bundle = readdirSync(assets).reduce((total, name) => total + statSync(join(assets, name)).size, 0);
    console.log(`a Vite page with @tickstream/client: ${(bundle / 1024).toFixed(1)} KB of JavaScript`);
    // socket.io-client, the rxjs operators it uses and the SDK; nothing of the server.
    expect(bundle).toBeLessThan(200 * 1024);

    service = await startTestService({}, { webRoot: join(app, 'dist') });
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(service.url);
    await page.waitForFunction(() => document.body.dataset.connection === 'connected', undefined, { timeout: 15_000 });
    // Both symbols shown, each updated live (its seq grows past the snapshot's).
    const firstSeqs = await page.waitForFunction(
      () => {
        const rows = [...document.querySelectorAll<HTMLLIElement>('#quotes li')];
        return rows.length === 2
          ? Object.fromEntries(rows.map((row) => [row.dataset.symbol, Number(row.dataset.seq)]))
          : null;
      },
      undefined,
      { timeout: 15_000 },
    );
    const seen = (await firstSeqs.jsonValue()) as Record<string, number>;
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll<HTMLLIElement>('#quotes li')].every(
          (row) => Number(row.dataset.seq) > (before[row.dataset.symbol ?? ''] ?? 0),
        ),
      seen,
      { timeout: 15_000 },
    );
    const texts = await page.$$eval('#quotes li', (rows) => rows.map((row) => row.textContent ?? ''));
    expect(texts.sort()).toEqual([expect.stringMatching(/^AAPL \d[\d,]*\.\d\d$/), expect.stringMatching(/^MSFT /)]);
    expect(errors).toEqual([]);
  });
});
