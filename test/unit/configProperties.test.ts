import fc from 'fast-check';
import { IANAZone } from 'luxon';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { main } from '../../src/cli/main.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

// Every field of the configuration, found by walking the schema, gets random bad values through the real
// command line (`tickstream serve --set PATH=VALUE`): each must stop it with exit code 2 and an error that
// names the field, before anything starts. A field added without a way to make bad values fails here.

/** Where a bad value goes on the command line, and the field the error must name. */
type Placement = { set: string; value: unknown; issue: string };
type Field = { path: string; schema: z.core.$ZodType; place: (value: unknown) => Placement };

/** Valid elements to put a bad field in (the required siblings filled), by the walk's path of the element. */
const VALID_ELEMENTS: Record<string, Record<string, unknown>> = {
  'feeds[simulated]': { type: 'simulated', id: 'sim' },
  'feeds[sse]': { type: 'sse', id: 'sse', url: 'http://127.0.0.1:1/events' },
  'feeds[ws]': { type: 'ws', id: 'ws', url: 'ws://127.0.0.1:1', format: 'coinbase' },
  'feeds[poll]': { type: 'poll', id: 'poll', url: 'http://127.0.0.1:1/quotes' },
  'feeds[replay]': { type: 'replay', file: 'recordings/x.ndjson' },
  'auth.tokens[]': { token: 'a-valid-static-token-0123456789' },
};
/** A valid key and value for each record, so the other one can be bad. */
const VALID_ENTRIES: Record<string, [string, unknown]> = {
  priority: ['*', ['sim']],
  'feeds[sse].headers': ['x-api-key', 'k'],
  'feeds[poll].headers': ['x-api-key', 'k'],
};

const unwrap = (schema: z.core.$ZodType): z.core.$ZodType =>
  schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional
    ? unwrap(schema.unwrap())
    : schema;

/**
 * Every field under `schema`, containers included. `dotted` is the `--set` path while the position can be
 * reached by one (objects all the way); inside arrays and records the bad value is wrapped into a valid element.
 */
function fields(schema: z.core.$ZodType, path: string, place: Field['place'], dotted: string | undefined): Field[] {
  const inner = unwrap(schema);
  const out: Field[] = path ? [{ path, schema: inner, place }] : [];
  const join = (a: string, b: string) => (a ? `${a}.${b}` : b);
  if (inner instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(inner.shape)) {
      const childPlace: Field['place'] =
        dotted !== undefined
          ? (value) => ({ set: join(dotted, key), value, issue: join(dotted, key) })
          : (value) => {
              const outer = place({ ...(VALID_ELEMENTS[path] ?? {}), [key]: value });
              return { ...outer, issue: `${outer.issue}.${key}` };
            };
      out.push(...fields(child, join(path, key), childPlace, dotted === undefined ? undefined : join(dotted, key)));
    }
  } else if (inner instanceof z.ZodArray) {
    const element = unwrap(inner.element);
    const options = element instanceof z.ZodDiscriminatedUnion ? element.options : [element];
    for (const option of options) {
      const type = option instanceof z.ZodObject ? option.shape.type : undefined;
      const name = type instanceof z.ZodLiteral ? `${path}[${String(type.value)}]` : `${path}[]`;
      const elementPlace: Field['place'] = (value) => {
        const outer = place([value]);
        return { ...outer, issue: `${outer.issue}.0` };
      };
      out.push(...fields(option, name, elementPlace, undefined));
    }
  } else if (inner instanceof z.ZodRecord) {
    const [validKey, validValue] = VALID_ENTRIES[path] ?? ['key', 'value'];
    const keyPlace: Field['place'] = (key) => {
      const outer = place({ [String(key)]: validValue });
      return { ...outer, issue: `${outer.issue}.${String(key)}` };
    };
    const valuePlace: Field['place'] = (value) => {
      const outer = place({ [validKey]: value });
      return { ...outer, issue: `${outer.issue}.${validKey}` };
    };
    out.push({ path: `${path}{key}`, schema: unwrap(inner.keyType), place: keyPlace });
    out.push(...fields(inner.valueType, `${path}{}`, valuePlace, undefined));
  }
  return out;
}

const FIELDS = fields(configSchema, '', (value) => ({ set: '', value, issue: '' }), '');

// --- bad values ---------------------------------------------------------------------------------------------

/** -0 is written "0" in JSON: it would reach the command line as another value than the one tried. */
const notMinusZero = (v: unknown) => !Object.is(v, -0);
const anyJson = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
/** JSON values of another kind than `kind` (what `typeof` says, with arrays and null apart). */
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const otherThan = (...kinds: string[]) => anyJson.filter((v) => !kinds.includes(kindOf(v)));

/** Bad values that follow from the field's type alone: another type, out of range, not an integer, not an option. */
function fromType(schema: z.core.$ZodType): fc.Arbitrary<unknown> | undefined {
  if (schema instanceof z.ZodNumber) {
    const bad: fc.Arbitrary<unknown>[] = [otherThan('number')];
    const { minValue, maxValue } = schema;
    if (minValue !== null && Number.isFinite(minValue)) {
      bad.push(fc.double({ min: minValue - 1e6, max: minValue, maxExcluded: true, noNaN: true }));
    }
    if (maxValue !== null && Number.isFinite(maxValue)) {
      bad.push(fc.double({ min: maxValue, minExcluded: true, max: maxValue + 1e6, noNaN: true }));
    }
    if (schema.isInt) bad.push(fc.double({ min: 1.01, max: 1000, noNaN: true }).filter((v) => !Number.isInteger(v)));
    return fc.oneof(...bad).filter(notMinusZero);
  }
  if (schema instanceof z.ZodString) {
    const bad: fc.Arbitrary<unknown>[] = [otherThan('string')];
    if ((schema.minLength ?? 0) > 0) bad.push(fc.string({ maxLength: (schema.minLength ?? 1) - 1 }));
    return fc.oneof(...bad);
  }
  if (schema instanceof z.ZodBoolean) return otherThan('boolean');
  if (schema instanceof z.ZodEnum) {
    const options: readonly unknown[] = schema.options;
    return fc.oneof(
      otherThan('string'),
      fc.string().filter((s) => !options.includes(s)),
    );
  }
  if (schema instanceof z.ZodArray) return otherThan('array');
  if (schema instanceof z.ZodObject || schema instanceof z.ZodRecord) return otherThan('object');
  return undefined;
}

const FEED_TYPES = ['simulated', 'sse', 'ws', 'poll', 'replay'];
const notZone = fc.oneof(
  fc.constantFrom('Mars/Phobos', 'America/Atlantis', 'Europe/Pari', 'EST5EDT+1', 'UTC+25', '', ' '),
  fc.string().filter((s) => !IANAZone.isValidZone(s)),
);
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const notDate = fc.oneof(
  fc.constantFrom('2026-13-45', '2026-02-30', '2025-02-29', '2026-00-10', '2026-04-31', '26/11/2026', '2026-1-5'),
  fc
    .tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 13, max: 99 }), fc.integer({ min: 1, max: 28 }))
    .map(([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`),
  fc
    .tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 32, max: 99 }))
    .map(([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`),
  fc.string().filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)),
);
const notTime = fc.oneof(
  fc.constantFrom('24:00', '9:30', '09:60', '09:30:00', '9:30am', '', 'noon'),
  fc.tuple(fc.integer({ min: 24, max: 99 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${h}:${pad(m)}`),
  fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 60, max: 99 })).map(([h, m]) => `${pad(h)}:${m}`),
);
const notReplayTime = fc.oneof(
  fc.constantFrom('24:00', '25:61', 'yesterday', '2026-13-01T10:00', '14h30', ''),
  fc.tuple(fc.integer({ min: 24, max: 99 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${h}:${pad(m)}`),
);
const urlLike = (schemes: string[]) =>
  fc.oneof(
    fc.constantFrom('not a url', 'example.com/path', '//example.com', '', 'http://', 'ws://'),
    fc
      .constantFrom(
        'ftp',
        'file',
        'mailto',
        'gopher',
        ...['http', 'https', 'ws', 'wss', 'redis'].filter((s) => !schemes.includes(s)),
      )
      .map((scheme) => `${scheme}://example.com/x`),
    fc.string().filter((s) => !URL.canParse(s)),
  );
const notSymbol = fc.oneof(
  // Symbols are at most 32 characters (docs/PROTOCOL.md, "Symbols").
  fc.constantFrom('', ' ', 'no way', 'A'.repeat(33), '.AAPL', 'AAPL!', 'ÄPPL', 'A::B', ':AAPL'),
  fc.string({ minLength: 33, maxLength: 40, unit: fc.constantFrom('A', 'B') }),
);
const notOrigin = fc.oneof(
  fc.constantFrom('app.example.com', 'https://app.example.com/path', 'https://', 'ftp://x', ''),
  fc.webUrl({ withQueryParameters: true }).map((u) => `${u}/x?y`),
);

/** Bad values of fields whose type says less than their meaning (every string with a rule of its own). */
const BY_MEANING: Record<string, fc.Arbitrary<unknown>> = {
  'market.zone': notZone,
  'feeds[replay].zone': notZone,
  'market.holidays[]': notDate,
  'market.preOpen': notTime,
  'market.open': notTime,
  'market.close': notTime,
  'market.postClose': notTime,
  'market.earlyCloses[]': notDate,
  'market.earlyClose': notTime,
  'market.earlyPostClose': notTime,
  'feeds[replay].from': notReplayTime,
  'feeds[replay].to': notReplayTime,
  'feeds[sse].url': urlLike(['http', 'https']),
  'feeds[poll].url': urlLike(['http', 'https']),
  'feeds[ws].url': urlLike(['ws', 'wss']),
  'feeds[ws].symbolsUrl': urlLike(['http', 'https']),
  'cluster.redis': fc.oneof(
    urlLike(['redis', 'rediss']),
    fc.constant([]),
    urlLike(['redis', 'rediss']).map((u) => ['redis://127.0.0.1:6379', u]),
  ),
  'server.allowedOrigins[]': notOrigin,
  // A union (true, or its settings): on with no admin credential at all is refused too.
  'server.adminUi': fc.oneof(
    fc.constant(true),
    fc.constantFrom('yes', 1, null, []),
    fc.constantFrom(
      { passwordHash: 'not a bcrypt hash' },
      { mode: 'fast' },
      { readonly: 'no' },
      { username: '' },
      { enabled: true },
      { colour: 'blue' },
    ),
  ),
  'feeds[sse].symbols[]': notSymbol,
  'feeds[ws].symbols[]': notSymbol,
  'feeds[poll].symbols[]': notSymbol,
  'auth.tokens[].symbols[]': notSymbol,
  'priority{key}': notSymbol.filter((s) => s !== '*'),
  'priority{}[]': fc.string({ minLength: 1, maxLength: 8 }).filter((id) => id !== 'sim'), // names no feed
  'cluster.keyPrefix': fc.oneof(fc.constantFrom('', 'a b', 'tick/stream', 'ä:'), otherThan('string')),
  // A file or a non-empty list of them.
  'feeds[replay].file': fc.oneof(
    fc.constantFrom('', [], [''], ['a.ndjson', ''], 3, null, {}),
    otherThan('string', 'array'),
  ),
  'feeds[replay].speed': fc.oneof(
    fc.double({ max: 0.5, maxExcluded: true, noNaN: true, min: -1e6 }),
    fc.double({ min: 50, minExcluded: true, noNaN: true, max: 1e9 }),
    fc.string().filter((s) => s !== 'max'),
  ),
  'pipeline.tiers': fc.oneof(
    fc.constant([]),
    fc.integer({ min: 1, max: 1000 }).map((t) => [t, t]),
  ),
  ...Object.fromEntries(
    FEED_TYPES.map((t) => [`feeds[${t}].type`, fc.string().filter((s) => !FEED_TYPES.includes(s))]),
  ),
};

/** Record keys any string may be (header names): there is no bad value to try. */
const ANY_STRING_WILL_DO = new Set(['feeds[sse].headers{key}', 'feeds[poll].headers{key}']);

/** A string with a rule beyond its length: plain probes fail it, so the rule needs bad values of its own. */
function hasOwnRule(schema: z.core.$ZodType): boolean {
  if (!(schema instanceof z.ZodString)) return false;
  const length = Math.max(1, schema.minLength ?? 1);
  return ['x'.repeat(length), 'a b'.padEnd(length, 'x')].some((probe) => !z.safeParse(schema, probe).success);
}

function badValues(field: Field): fc.Arbitrary<unknown> | undefined {
  const byMeaning = BY_MEANING[field.path];
  // A record key is always a string in JSON: only values that break its rule are bad.
  const byType = field.path.endsWith('{key}') ? undefined : fromType(field.schema);
  if (byMeaning && byType) return fc.oneof(byMeaning, byType);
  return byMeaning ?? byType;
}

// --- running the real command line --------------------------------------------------------------------------

afterEach(() => vi.restoreAllMocks());

/** `tickstream serve ... --set PATH=VALUE` in this process: its exit code and what it printed. */
async function serveWith(placement: Placement): Promise<{ code: number; stderr: string }> {
  const printed: string[] = [];
  let started: () => void = () => {};
  const serving = new Promise<'started'>((resolve) => {
    started = () => resolve('started');
  });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    const line = args.join(' ');
    printed.push(line);
    if (line.includes('serving on')) started();
  });
  const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--set', 'server.dashboard=false'];
  args.push('--set', `${placement.set}=${JSON.stringify(placement.value)}`);
  const signalListeners = new Set(process.listeners('SIGINT'));
  const running = main(args);
  const outcome = await Promise.race([running, serving]);
  if (outcome === 'started') {
    // It started: stop it as Ctrl-C would, drop the exit-on-second-signal handler it leaves, and fail.
    process.emit('SIGINT');
    await running;
    for (const listener of process.listeners('SIGINT')) {
      if (!signalListeners.has(listener)) process.off('SIGINT', listener);
    }
    throw new Error(`started with ${placement.set}=${JSON.stringify(placement.value)}`);
  }
  return { code: outcome, stderr: printed.join('\n') };
}

describe('every config field, given random bad values on the command line', () => {
  it('is found by the walk, and has bad values to try', () => {
    expect(FIELDS.length).toBeGreaterThan(80);
    const without = FIELDS.filter((f) => !ANY_STRING_WILL_DO.has(f.path) && badValues(f) === undefined);
    expect(without.map((f) => f.path)).toEqual([]);
    // Strings with a rule of their own (zones, dates, URLs...) get values that break the rule, not just the type.
    const ruled = FIELDS.filter((f) => hasOwnRule(f.schema) && !BY_MEANING[f.path]);
    expect(ruled.map((f) => f.path)).toEqual([]);
    // Every entry of the tables is a real field (no stale names).
    const paths = new Set(FIELDS.map((f) => f.path));
    expect(Object.keys(BY_MEANING).filter((p) => !paths.has(p))).toEqual([]);
    for (const path of ANY_STRING_WILL_DO) {
      const field = FIELDS.find((f) => f.path === path);
      fc.assert(
        fc.property(fc.string(), (key) => {
          expect(field && z.safeParse(field.schema, key).success).toBe(true);
        }),
      );
    }
  });

  it.each(FIELDS.filter((f) => badValues(f) !== undefined).map((f) => [f.path, f] as const))(
    '%s: exits 2 naming it, and starts nothing',
    async (_path, field) => {
      const bad = badValues(field);
      if (!bad) return;
      await fc.assert(
        fc.asyncProperty(bad, async (value) => {
          const placement = field.place(value);
          const { code, stderr } = await serveWith(placement);
          expect(code, stderr).toBe(2);
          expect(stderr).toContain('tickstream: invalid configuration:');
          // The field, or the element of it that is wrong (`cluster.redis.1`), and what was expected.
          const named = stderr
            .split('\n')
            .find((line) => new RegExp(`^  - ${escapeRegExp(placement.issue)}(\\.[^:]+)?: `).test(line));
          expect(named, stderr).toBeDefined();
          expect(named).not.toMatch(/: (Invalid input)?$/);
          expect(stderr).not.toContain('serving on');
        }),
        { numRuns: 12 },
      );
    },
  );
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const loadError = (overrides: Record<string, unknown>): string[] => {
  try {
    loadConfig({ env: {}, overrides });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

const hhmm = fc.integer({ min: 0, max: 24 * 60 - 1 }).map((m) => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`);
const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));

describe('fields that must agree', () => {
  it('market times: preOpen <= open < close <= postClose and open < earlyClose <= earlyPostClose, else the field out of order is named', () => {
    fc.assert(
      fc.property(fc.tuple(hhmm, hhmm, hhmm, hhmm, hhmm, hhmm), (times) => {
        const [preOpen, open, close, postClose, earlyClose, earlyPostClose] = times;
        const market = { preOpen, open, close, postClose, earlyClose, earlyPostClose, earlyCloses: ['2026-11-27'] };
        const issues = loadError({ market });
        const [p, o, c, q, e, eq] = times.map(minutes) as [number, number, number, number, number, number];
        const expected = [
          ...(p <= o ? [] : ['market.preOpen']),
          ...(o < c ? [] : ['market.close']),
          ...(c <= q ? [] : ['market.postClose']),
          ...(o < e ? [] : ['market.earlyClose']),
          ...(e < c ? [] : ['market.earlyClose']),
          ...(e <= eq ? [] : ['market.earlyPostClose']),
        ];
        expect(issues.map((i) => i.slice(0, i.indexOf(':')))).toEqual(expected);
      }),
    );
  });

  it('pipeline.defaultHz lies within the tiers', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0.01, max: 2000, noNaN: true }),
        (tiers, defaultHz) => {
          const inside = defaultHz >= Math.min(...tiers) && defaultHz <= Math.max(...tiers);
          const issues = loadError({ 'pipeline.tiers': tiers, 'pipeline.defaultHz': defaultHz });
          expect(issues).toEqual(inside ? [] : [expect.stringMatching(/^pipeline\.defaultHz: expected a rate within/)]);
        },
      ),
    );
  });

  it('a reconnect backoff starts at most at its ceiling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (initialMs, maxMs) => {
        const issues = loadError({ 'cluster.reconnect': { initialMs, maxMs } });
        expect(issues).toEqual(initialMs <= maxMs ? [] : ['cluster.reconnect.initialMs: expected at most maxMs']);
      }),
    );
  });

  it('accepts what is valid: every zone the platform knows, every real date', () => {
    for (const zone of Intl.supportedValuesOf('timeZone')) expect(loadError({ 'market.zone': zone }), zone).toEqual([]);
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }), (day) => {
        expect(loadError({ 'market.holidays': [day.toISOString().slice(0, 10)] })).toEqual([]);
      }),
    );
  });
});
