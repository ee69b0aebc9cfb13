import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReplayCommand, parseSubscribe, parseUnsubscribe } from '../../src/delivery/requests.js';

/**
 * The validation of client requests (src/delivery/requests.ts), as properties: what the protocol allows comes
 * back as it was sent, what it does not is refused with BAD_REQUEST naming the field, and a request over the
 * limits with LIMIT_EXCEEDED. (test/fuzz/clientEvents.test.ts only checks that every answer is well-formed.)
 */

const MAX = 8;
const symbol = fc.string({ minLength: 0, maxLength: 64 });
const symbols = fc.array(symbol, { minLength: 1, maxLength: MAX });
const position = fc.tuple(fc.nat(), fc.nat());
const maxHz = fc.double({ min: Number.MIN_VALUE, max: 1e6, noNaN: true, noDefaultInfinity: true });
const resume = fc.dictionary(
  symbol.filter((key) => key !== '__proto__'),
  position,
  { maxKeys: MAX },
);
const validSubscribe = fc.record({ symbols, maxHz, resume }, { requiredKeys: ['symbols'] });

/** A BAD_REQUEST whose message starts with the path of the field (or of a part of it, `resume.AAPL.1`). */
const badRequest = (field: string) => ({
  ok: false,
  error: {
    code: 'BAD_REQUEST',
    message: expect.stringMatching(new RegExp(`^${field.replaceAll('.', '\\.')}(\\.\\d+)?: `)),
  },
});

describe('parseSubscribe', () => {
  it('gives back any request the protocol allows, unchanged', () => {
    fc.assert(
      fc.property(validSubscribe, (request) => {
        expect(parseSubscribe(request, MAX)).toEqual({ ok: true, value: request });
      }),
    );
  });

  it('refuses a rate that is not a positive finite number, naming maxHz', () => {
    const notRate = fc.oneof(
      fc.double({ max: 0, noNaN: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, '10', null, true, [10], {}),
    );
    fc.assert(
      fc.property(symbols, notRate, (list, rate) => {
        expect(parseSubscribe({ symbols: list, maxHz: rate }, MAX)).toEqual(badRequest('maxHz'));
      }),
    );
  });

  it('refuses a resume position that is not two whole non-negative numbers, naming the symbol', () => {
    const part = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double({ noInteger: true }),
      fc.constantFrom('1', null, Number.POSITIVE_INFINITY),
    );
    const notPosition = fc.oneof(
      fc.tuple(part, fc.nat()),
      fc.tuple(fc.nat(), part),
      fc.constantFrom<unknown>([1], [1, 2, 3], '1,2', 12, null, { 0: 1, 1: 2 }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z]{1,5}$/), notPosition, (name, at) => {
        expect(parseSubscribe({ symbols: [name], resume: { [name]: at } }, MAX)).toEqual(badRequest(`resume.${name}`));
      }),
    );
  });

  // A string of any length is taken here: whether it is a valid symbol is decided per symbol later, so an
  // over-long one is refused in `rejected` (docs/PROTOCOL.md), not by failing the request.
  it('refuses no symbols and a symbol that is not a string', () => {
    expect(parseSubscribe({ symbols: [] }, MAX)).toEqual({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'symbols: at least one symbol' },
    });
    fc.assert(
      fc.property(
        fc.array(symbol, { maxLength: MAX - 1 }),
        fc.oneof(fc.integer(), fc.constant(null), fc.constant({}), fc.constant(['AAPL'])),
        fc.nat(),
        (list, bad, at) => {
          const withBad = [...list];
          const index = at % (list.length + 1);
          withBad.splice(index, 0, bad as string);
          expect(parseSubscribe({ symbols: withBad }, MAX)).toEqual(badRequest(`symbols.${index}`));
        },
      ),
    );
    const long = 'A'.repeat(200);
    expect(parseSubscribe({ symbols: [long] }, MAX)).toEqual({ ok: true, value: { symbols: [long] } });
    for (const payload of [undefined, null, 'AAPL', ['AAPL'], { symbols: 'AAPL' }, {}])
      expect(parseSubscribe(payload, MAX), JSON.stringify(payload)).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST' },
      });
  });

  it('refuses more symbols, or more resume positions, than a request may carry, before looking at them', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX + 1, max: 3 * MAX }), (n) => {
        // Not even strings: the count is enough to refuse.
        expect(parseSubscribe({ symbols: Array(n).fill(0) }, MAX)).toEqual({
          ok: false,
          error: { code: 'LIMIT_EXCEEDED', message: `at most ${MAX} symbols per request, got ${n}` },
        });
        const positions = Object.fromEntries(Array.from({ length: n }, (_, i) => [`S${i}`, [1, 1]]));
        expect(parseSubscribe({ symbols: ['S0'], resume: positions }, MAX)).toEqual({
          ok: false,
          error: { code: 'LIMIT_EXCEEDED', message: `at most ${MAX} resume positions per request` },
        });
      }),
    );
    expect(parseSubscribe({ symbols: Array(MAX).fill('AAPL') }, MAX).ok).toBe(true);
  });

  it('never throws, and answers ok, BAD_REQUEST or LIMIT_EXCEEDED', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (payload) => {
        for (const parsed of [parseSubscribe(payload, MAX), parseUnsubscribe(payload, MAX)]) {
          if (!parsed.ok) expect(['BAD_REQUEST', 'LIMIT_EXCEEDED']).toContain(parsed.error.code);
        }
        const replay = parseReplayCommand(payload);
        if (!replay.ok) expect(replay.error.code).toBe('BAD_REQUEST');
      }),
    );
  });
});

describe('parseUnsubscribe', () => {
  it('gives back a list of symbols, and drops anything else the request carries', () => {
    fc.assert(
      fc.property(symbols, maxHz, (list, rate) => {
        expect(parseUnsubscribe({ symbols: list, maxHz: rate }, MAX)).toEqual({ ok: true, value: { symbols: list } });
      }),
    );
  });
});

describe('parseReplayCommand', () => {
  it('takes pause, resume, a speed from 0.5 to 50 or max, and a seek to any finite position', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom({ action: 'pause' }, { action: 'resume' }, { action: 'speed', speed: 'max' }),
          fc.double({ min: 0.5, max: 50, noNaN: true }).map((speed) => ({ action: 'speed', speed })),
          fc.double({ noNaN: true, noDefaultInfinity: true }).map((position) => ({ action: 'seek', position })),
        ),
        (command) => {
          expect(parseReplayCommand(command)).toEqual({ ok: true, value: command });
        },
      ),
    );
  });

  it('refuses a speed outside 0.5..50, a seek to nowhere, and an unknown action', () => {
    const badSpeed = fc.oneof(
      fc.double({ max: 0.5, maxExcluded: true, noNaN: true }),
      fc.double({ min: 50, minExcluded: true, noNaN: true }),
      fc.constantFrom(Number.NaN, 'fast', '2', null),
    );
    fc.assert(
      fc.property(badSpeed, (speed) => {
        expect(parseReplayCommand({ action: 'speed', speed })).toEqual(badRequest('speed'));
      }),
    );
    for (const position of [Number.NaN, Number.POSITIVE_INFINITY, '10', null])
      expect(parseReplayCommand({ action: 'seek', position })).toEqual(badRequest('position'));
    for (const action of ['play', 'stop', '', 1, undefined])
      expect(parseReplayCommand({ action })).toEqual(badRequest('action'));
  });
});
