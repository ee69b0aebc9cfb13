import { afterEach, describe, expect, it, vi } from 'vitest';
import { tokenCommand } from '../../src/cli/token.js';
import { verifyJwt } from '../../src/delivery/auth.js';

const SECRET = '0123456789abcdef0123456789abcdef';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the command and captures what it prints. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((text: string) => out.push(text));
  vi.spyOn(console, 'error').mockImplementation((text: string) => err.push(text));
  const code = await tokenCommand(argv, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('tickstream token', () => {
  it('mints a JWT the server verifies, with symbols, role, subject and ttl', async () => {
    const before = Date.now();
    const { code, out } = await run([
      '--secret',
      SECRET,
      '--symbols',
      'aapl, MSFT',
      '--ttl',
      '15m',
      '--admin',
      '--sub',
      'ana',
    ]);
    expect(code).toBe(0);
    const result = verifyJwt(out.trim(), SECRET);
    expect(result).toMatchObject({
      ok: true,
      grant: { role: 'admin', subject: 'ana', symbols: new Set(['AAPL', 'MSFT']) },
    });
    if (!result.ok) throw new Error('not ok');
    expect(result.grant.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000);
    expect(result.grant.expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
  });

  it('reads the secret from the environment, and defaults to a user token for all symbols for 1h', async () => {
    const { code, out } = await run([], { TICKSTREAM_AUTH__JWT_SECRET: SECRET });
    expect(code).toBe(0);
    const result = verifyJwt(out.trim(), SECRET);
    expect(result).toMatchObject({ ok: true, grant: { role: 'user' } });
    expect(result.ok && result.grant.symbols).toBeUndefined();
  });

  it('refuses a missing or short secret, a bad ttl and bad symbols, naming the flag', async () => {
    expect(await run([])).toMatchObject({ code: 2, err: expect.stringContaining('--secret') });
    expect(await run(['--secret', 'short'])).toMatchObject({ code: 2, err: expect.stringContaining('32') });
    expect(await run(['--secret', SECRET, '--ttl', '1w'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--ttl'),
    });
    expect(await run(['--secret', SECRET, '--symbols', 'AAPL,bad symbol'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('BAD SYMBOL'),
    });
  });
});
