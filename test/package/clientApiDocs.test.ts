import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';

const run = promisify(execFile);
const PACKAGE = join(PROJECT_ROOT, 'packages/client');
const PAGE = 'CLIENT-API.md';
const out = mkdtempSync(join(tmpdir(), 'tickstream-api-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('docs/CLIENT-API.md', () => {
  it('is what TypeDoc makes of the SDK now, and every public function, type and option has a doc comment', async () => {
    // typedoc.json treats a missing doc comment (or a link to something not exported) as an error.
    const generated = await run(join(PACKAGE, 'node_modules/.bin/typedoc'), ['--out', out], { cwd: PACKAGE }).then(
      () => 'ok',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    expect(generated, 'TypeDoc failed').toBe('ok');
    const fresh = readFileSync(join(out, PAGE), 'utf8');
    const committed = readFileSync(join(PROJECT_ROOT, 'docs', PAGE), 'utf8');
    expect(committed === fresh, `docs/${PAGE} is out of date: run npm run docs:api and commit it`).toBe(true);
  }, 120_000);
});
