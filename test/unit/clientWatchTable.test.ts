import { describe, expect, it } from 'vitest';
import { cutVisible, plainLine, renderTable, updateView, type WatchView } from '../../src/cli/watchView.js';
import type { Quote } from '../../src/protocol.js';

const ESC = '\x1b';
const stripAnsi = (text: string) => text.split(new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`)).join('');

const quote = (price: number, extra: Partial<Quote> = {}): Quote => ({
  symbol: 'AAPL',
  price,
  // 10:31:02.123 in New York (EST, UTC-5).
  ts: Date.UTC(2026, 0, 5, 15, 31, 2, 123),
  epoch: 1,
  seq: 1,
  bid: price - 0.01,
  ask: price + 0.01,
  volume: 1_234_567,
  change: price - 200,
  changePct: ((price - 200) / 200) * 100,
  prevClose: 200,
  ...extra,
});

const empty: WatchView = {
  symbols: ['AAPL', 'MSFT'],
  url: 'http://x',
  connection: 'connected',
  rows: new Map(),
  zoneOf: () => 'America/New_York',
};

describe('tickstream watch table', () => {
  it('shows each field, ▲ and green for a rise, ▼ and red for a fall', () => {
    let view = updateView(empty, { kind: 'quote', quote: quote(201) });
    view = updateView(view, { kind: 'quote', quote: quote(202.5, { seq: 2 }) });
    const [, header, aapl, msft] = renderTable(view, { color: true, width: 500 });
    expect(stripAnsi(header ?? '')).toMatch(/SYMBOL\s+PRICE\s+CHANGE\s+CHANGE%\s+BID\s+ASK\s+VOLUME\s+TIME/);
    expect(stripAnsi(aapl ?? '')).toMatch(
      /^AAPL\s+▲ 202\.50\s+▲ \+2\.50\s+\+1\.25%\s+202\.49\s+202\.51\s+1\.23M\s+10:31:02\.123 EST$/,
    );
    expect(aapl).toContain(`${ESC}[32m`);
    expect(stripAnsi(msft ?? '')).toContain('waiting');

    const fell = updateView(view, { kind: 'quote', quote: quote(199, { seq: 3 }) });
    const row = renderTable(fell, { color: true, width: 500 })[2] ?? '';
    expect(stripAnsi(row)).toMatch(/▼ 199\.00\s+▼ −1\.00\s+−0\.50%/);
    expect(row).toContain(`${ESC}[31m`);
  });

  it('has no colour codes without colour, and cuts lines to the terminal width', () => {
    const view = updateView(empty, { kind: 'quote', quote: quote(201) });
    const lines = renderTable(view, { color: false, width: 30 });
    for (const line of lines) {
      expect(line).not.toContain(ESC);
      expect(line.length).toBeLessThanOrEqual(30);
    }
  });

  it('puts the connection and the feeds in the status line', () => {
    const view = updateView(updateView(empty, { kind: 'connection', state: 'disconnected' }), {
      kind: 'status',
      status: { feeds: [{ id: 'sim', state: 'stale' }], session: { exchange: 'X', state: 'open', nextChange: '' } },
    });
    expect(stripAnsi(renderTable(view, { color: true, width: 500 })[0] ?? '')).toMatch(
      /disconnected\s+feeds: sim stale\s+session: open/,
    );
  });

  it('sums up the rows that do not fit in the terminal height', () => {
    const view: WatchView = { ...empty, symbols: ['A', 'B', 'C', 'D', 'E', 'F'] };
    const lines = renderTable(view, { color: false, width: 500, height: 6 });
    expect(lines).toHaveLength(6);
    expect(lines.slice(2, 5).map((l) => l.split(' ')[0])).toEqual(['A', 'B', 'C']);
    expect(lines[5]).toBe('… 3 more');
    expect(renderTable(view, { color: false, width: 500, height: 8 })).toHaveLength(8);
  });

  it('shows that the server is closing the connection', () => {
    const view = updateView(empty, {
      kind: 'status',
      status: { feeds: [], closing: { code: 'SHUTDOWN', message: 'server shutting down' } },
    });
    expect(renderTable(view, { color: false, width: 500 })[0]).toContain('server closing: server shutting down');
  });

  it('cuts by visible characters and keeps the escape sequences', () => {
    const line = `${ESC}[32mabcdef${ESC}[0mghi`;
    expect(cutVisible(line, 4)).toBe(`${ESC}[32mabcd${ESC}[0m`);
    expect(stripAnsi(cutVisible(line, 100))).toBe('abcdefghi');
  });

  it('prints a plain line per quote, ASCII numbers and the time in the zone given', () => {
    expect(plainLine(quote(201), 'America/New_York')).toBe(
      'AAPL 201.00 +1.00 +0.50% bid 200.99 ask 201.01 vol 1234567 10:31:02.123 EST',
    );
    expect(plainLine(quote(1234.5, { change: -0.004 }), 'UTC')).toMatch(/^AAPL 1234\.50 0\.00 .* 15:31:02\.123 UTC$/);
    expect(plainLine(quote(199), 'Asia/Tokyo')).toMatch(/^AAPL 199\.00 -1\.00 -0\.50% .* 00:31:02\.123 GMT\+9$/);
    expect(plainLine({ symbol: 'X', price: 0.5, ts: 0, epoch: 1, seq: 1 }, 'UTC')).toBe(
      'X 0.5000 - - bid - ask - vol - 00:00:00.000 UTC',
    );
  });

  it('while not connected, says why and when it gives up', () => {
    const view = updateView(updateView(empty, { kind: 'connection', state: 'connecting' }), {
      kind: 'failure',
      failure: { reason: 'refused', message: 'connection refused', attempt: 3 },
    });
    const waiting = updateView(view, { kind: 'deadline', giveUpAt: 10_000 });
    expect(renderTable(waiting, { color: false, width: 500, now: 3_200 })[0]).toContain(
      'connecting: connection refused (attempt 3, giving up in 7 s)',
    );
    const connected = updateView(waiting, { kind: 'connection', state: 'connected' });
    expect(renderTable(connected, { color: false, width: 500 })[0]).not.toContain('refused');
  });

  it('marks a symbol the server refused', () => {
    const view = updateView(empty, {
      kind: 'rejected',
      rejection: { symbol: 'MSFT', code: 'UNAUTHORIZED', message: 'not allowed' },
    });
    expect(renderTable(view, { color: false, width: 500 })[3]).toMatch(/^MSFT\s+refused: UNAUTHORIZED$/);
  });
});
