import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseDecoder, type SseMessage } from '../../src/feeds/sse.js';
import { decodeUpstreamText } from '../../src/feeds/sseFormats.js';
import { backoffDelay } from '../../src/retry.js';

const utf8 = new TextEncoder();

function decode(chunks: (string | Uint8Array)[], options: { maxBufferSize?: number; lastEventId?: string } = {}) {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const decoder = new SseDecoder({ onMessage: (m) => messages.push(m), onRetry: (ms) => retries.push(ms) }, options);
  let accepted = true;
  for (const chunk of chunks) {
    accepted = decoder.push(typeof chunk === 'string' ? utf8.encode(chunk) : chunk);
    if (!accepted) break;
  }
  return { messages, retries, accepted, lastEventId: decoder.lastEventId };
}

const data = (stream: string) => decode([stream]).messages.map((m) => m.data);

// Modelled on web-platform-tests/eventsource/format-*.htm.
describe('SSE parsing corpus (WHATWG EventSource model)', () => {
  it('dispatches on a blank line with LF, CR and CRLF line endings, mixed', () => {
    expect(data('data:1\n\ndata:2\r\rdata:3\r\n\r\ndata:4\r\n\ndata:5\n\r\n')).toEqual(['1', '2', '3', '4', '5']);
  });

  it('treats a lone CR followed by LF in the next chunk as one line ending', () => {
    const { messages } = decode(['data:a\r', '\ndata:b\r', '\n\r', '\n']);
    expect(messages.map((m) => m.data)).toEqual(['a\nb']);
  });

  it('strips one leading BOM only (format-bom, format-bom-2)', () => {
    expect(data('\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n')).toEqual(['1', '3']);
    expect(data('\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n')).toEqual(['2', '3']);
  });

  it('ignores comments, including long ones and ones with NUL (format-comments)', () => {
    const long = 'x'.repeat(2048);
    expect(data(`data:1\r:\0\n:\r\ndata:2\n:${long}\rdata:3\n:data:fail\r:${long}\ndata:4\n\n`)).toEqual([
      '1\n2\n3\n4',
    ]);
  });

  it('joins multi-line data with LF and keeps empty data lines (format-field-data)', () => {
    expect(data('data:\n\ndata\ndata\n\ndata:test\n\n')).toEqual(['', '\n', 'test']);
  });

  it('parses fields literally: case, NUL and leading spaces matter (format-field-parsing)', () => {
    const stream =
      'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n';
    expect(data(stream)).toEqual(['\0\n 2\n1\n3\n\n4']);
  });

  it('removes only one space after the colon (format-leading-space)', () => {
    expect(data('data:\ttest\rdata: \ndata:  test\n\n')).toEqual(['\ttest\n\n test']);
  });

  it('ignores unknown fields and lines without a colon other than "data" (format-field-unknown)', () => {
    expect(data('data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n')).toEqual([
      'test\n\ntest',
    ]);
  });

  it('does not dispatch an event without its final blank line (format-data-before-final-empty-line)', () => {
    const { messages } = decode(['retry:1000\ndata:test1\n\nid:test\ndata:test2']);
    expect(messages.map((m) => m.data)).toEqual(['test1']);
  });

  it('keeps the last event id across events until an id field changes it (format-field-id)', () => {
    const { messages, lastEventId } = decode(['id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n']);
    expect(messages.map((m) => [m.data, m.lastEventId])).toEqual([
      ['a', '1'],
      ['b', '1'],
      ['c', '2'],
    ]);
    expect(lastEventId).toBe('2');
  });

  it('resets the last event id with an empty id field (format-field-id-2)', () => {
    const { messages, lastEventId } = decode(['id: 7\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n']);
    expect(messages.map((m) => m.lastEventId)).toEqual(['7', '', '']);
    expect(lastEventId).toBe('');
  });

  it('ignores an id containing NUL (format-field-id-null)', () => {
    const { messages } = decode(['id: 3\ndata: a\n\nid: 4\0x\ndata: b\n\n']);
    expect(messages.map((m) => m.lastEventId)).toEqual(['3', '3']);
  });

  it('starts from the id remembered by the previous connection', () => {
    expect(decode(['data: a\n\n'], { lastEventId: '41' }).messages[0]?.lastEventId).toBe('41');
  });

  it('reports retry only for ASCII digits (format-field-retry, format-field-retry-bogus)', () => {
    expect(decode(['retry:03000\ndata:x\n\nretry:1000x\ndata:y\n\nretry: 250\n\n']).retries).toEqual([3000, 250]);
  });

  it('keeps the event type, defaulting to none (format-field-event, format-field-event-empty)', () => {
    const { messages } = decode(['event: quote\ndata: a\n\nevent:\ndata: b\n\n']);
    expect(messages).toEqual([
      { data: 'a', event: 'quote', lastEventId: '' },
      { data: 'b', lastEventId: '' },
    ]);
  });

  it('passes NUL and UTF-8 through (format-null-character, format-utf-8)', () => {
    expect(data('data:\0\n\n\n\ndata:ok…€😀\n\n')).toEqual(['\0', 'ok…€😀']);
  });

  it('refuses to buffer past the bound: an endless line stops the decoder', () => {
    const result = decode(['data: ', 'x'.repeat(600), 'y'.repeat(600)], { maxBufferSize: 1000 });
    expect(result.accepted).toBe(false);
    expect(result.messages).toEqual([]);
    expect(decode(['data: short\n\n'], { maxBufferSize: 1000 }).messages).toHaveLength(1);
  });
});

const fieldText = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
const lineEnding = fc.constantFrom('\n', '\r', '\r\n');
const block = fc.record({
  id: fc.option(
    fieldText.map((s) => s.replace(/\0/g, '')),
    { nil: undefined },
  ),
  event: fc.option(fc.constantFrom('message', 'quote'), { nil: undefined }),
  comment: fc.option(fieldText, { nil: undefined }),
  retry: fc.option(fc.nat(100_000), { nil: undefined }),
  lines: fc.array(fieldText, { minLength: 1, maxLength: 3 }),
  eol: lineEnding,
});

type Block = typeof block extends fc.Arbitrary<infer B> ? B : never;

function serialize(blocks: Block[], bom: boolean): string {
  let out = bom ? '\uFEFF' : '';
  for (const b of blocks) {
    if (b.comment !== undefined) out += `:${b.comment}${b.eol}`;
    if (b.retry !== undefined) out += `retry: ${b.retry}${b.eol}`;
    if (b.id !== undefined) out += `id: ${b.id}${b.eol}`;
    if (b.event !== undefined) out += `event: ${b.event}${b.eol}`;
    for (const line of b.lines) out += `data: ${line}${b.eol}`;
    // A final LF: a trailing lone CR waits for a possible LF, so it would only count once more bytes come.
    out += b.eol === '\r' ? '\r\n' : b.eol;
  }
  return out;
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('SSE parsing properties', () => {
  it('gives the same events however the byte stream is split, even inside a UTF-8 character', () => {
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 20 }),
        (blocks, bom, cuts) => {
          const bytes = utf8.encode(serialize(blocks, bom));
          const whole = decode([bytes]);
          const split = decode(splitAt(bytes, cuts));
          expect(split.messages).toEqual(whole.messages);
          expect(split.retries).toEqual(whole.retries);
          // And the events are the ones written.
          expect(whole.messages.map((m) => m.data)).toEqual(blocks.map((b) => b.lines.join('\n')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('byte-at-a-time equals all-at-once', () => {
    fc.assert(
      fc.property(fc.array(block, { maxLength: 5 }), (blocks) => {
        const bytes = utf8.encode(serialize(blocks, false));
        const single = [...bytes].map((b) => Uint8Array.of(b));
        expect(decode(single).messages).toEqual(decode([bytes]).messages);
      }),
      { numRuns: 200 },
    );
  });
});

describe('upstream formats', () => {
  it('tickstream: a quote or an array; seq becomes upstreamSeq; bad JSON passes on as text to be refused', () => {
    expect(decodeUpstreamText('tickstream', '{"symbol":"AAPL","price":1,"ts":2,"seq":9}')).toEqual([
      { symbol: 'AAPL', price: 1, ts: 2, upstreamSeq: 9 },
    ]);
    expect(decodeUpstreamText('tickstream', '[{"symbol":"A"},{"symbol":"B"}]')).toHaveLength(2);
    expect(decodeUpstreamText('tickstream', '{"symbol":')).toEqual(['{"symbol":']);
  });

  it('iex: maps the quote fields and leaves out absent bid/ask', () => {
    const [quote] = decodeUpstreamText(
      'iex',
      JSON.stringify([
        {
          symbol: 'AAPL',
          latestPrice: 230.1,
          iexBidPrice: 0,
          iexAskPrice: 230.2,
          latestVolume: 1000,
          latestUpdate: 1_700_000_000_000,
          previousClose: 229.87,
          high: null,
          peRatio: 30,
        },
      ]),
    );
    expect(quote).toEqual({
      symbol: 'AAPL',
      price: 230.1,
      ts: 1_700_000_000_000,
      ask: 230.2,
      volume: 1000,
      prevClose: 229.87,
    });
  });

  it('backoff grows exponentially, is capped, and jitters between 50% and 100%', () => {
    expect(backoffDelay(500, 30_000, 1, 1)).toBe(500);
    expect(backoffDelay(500, 30_000, 4, 1)).toBe(4000);
    expect(backoffDelay(500, 30_000, 20, 1)).toBe(30_000);
    expect(backoffDelay(500, 30_000, 4, 0)).toBe(2000);
    expect(backoffDelay(60_000, 30_000, 3, 1)).toBe(60_000);
  });
});
