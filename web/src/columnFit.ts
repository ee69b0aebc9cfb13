import type { Quote } from '../../src/protocol.js';

/**
 * The widest values a row shows, one quote per exchange clock the grid uses and per season (EST and EDT are
 * not the same width): prices up to 99,999.99 (under 1 they show four decimals, which is narrower), changes
 * to ±9,999.99 and ±999.99 %, volumes in the hundreds of billions, millions and thousands.
 */
export function widestQuotes(symbol: string): { quote: Quote; zone: string }[] {
  const zones = ['America/New_York', 'Europe/London', 'Europe/Berlin', 'Asia/Tokyo', 'UTC'];
  const winter = Date.UTC(2026, 0, 15, 23, 59, 58);
  const summer = Date.UTC(2026, 6, 15, 23, 59, 58);
  const volumes = [999_990_000_000, 999_990_000, 999_990];
  return zones.flatMap((zone, i) =>
    [winter, summer].map((ts) => ({
      zone,
      quote: {
        symbol,
        price: 99_999.99,
        bid: 99_999.99,
        ask: 99_999.99,
        change: -9_999.99,
        changePct: -999.99,
        volume: volumes[i % volumes.length] as number,
        ts,
        epoch: 1,
        seq: 1,
      },
    })),
  );
}

/**
 * Sets each column's width (`--col-<key>` on the table, read by the rows' grid templates in styles.css) to the
 * widest of what it shows: its header sorted (with the ▲/▼ the sort adds) and each of `rows`, laid out off
 * screen at their natural width in the page's own fonts. The rows are fixed grids so that a changed price
 * never re-lays out the table; this is how they still fit the widest price.
 */
export function fitColumns(table: HTMLTableElement, rows: HTMLTableRowElement[]): void {
  const header = table.tHead?.rows[0];
  if (!header) return;
  const keys = [...header.cells].map((cell) => cell.dataset.key ?? 'actions');
  const head = document.createElement('thead');
  const headRow = header.cloneNode(true) as HTMLTableRowElement;
  for (const th of headRow.querySelectorAll('[aria-sort]')) th.setAttribute('aria-sort', 'descending');
  head.append(headRow);
  const body = document.createElement('tbody');
  body.append(...rows);
  for (const probe of [head, body]) {
    probe.className = 'fit-probe';
    probe.setAttribute('aria-hidden', 'true');
  }
  table.append(head, body);
  const widths = keys.map(() => 0);
  for (const row of [headRow, ...rows]) {
    [...row.children].forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.getBoundingClientRect().width);
    });
  }
  head.remove();
  body.remove();
  keys.forEach((key, i) => {
    table.style.setProperty(`--col-${key}`, `${Math.ceil(widths[i] ?? 0)}px`);
  });
}
