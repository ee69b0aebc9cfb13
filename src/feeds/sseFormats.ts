/**
 * Upstream payload formats shared by the SSE and polling feeds. A decoder turns one message's text into
 * Quote-shaped candidates; the pipeline's validateQuote judges them, so nothing here drops a value silently.
 */

export const UPSTREAM_FORMATS = ['tickstream', 'iex'] as const;
export type UpstreamFormat = (typeof UPSTREAM_FORMATS)[number];

/**
 * Text that is not JSON is passed on as the string itself: validateQuote refuses it as `not_object`, so it is
 * counted in `badInputs` and skipped like any other bad value.
 */
export function decodeUpstreamText(format: UpstreamFormat, text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [text];
  }
  return decodeUpstreamJson(format, value);
}

/** One JSON value (an item or an array of items) as Quote-shaped candidates. */
export function decodeUpstreamJson(format: UpstreamFormat, value: unknown): unknown[] {
  const items = Array.isArray(value) ? value : [value];
  return format === 'iex' ? items.map(fromIex) : items.map(fromTickstream);
}

/**
 * The normalized format of docs/PROTOCOL.md. Its `seq` is the upstream's own per-symbol sequence (the
 * server assigns its own), so it becomes `upstreamSeq` for gap detection.
 */
function fromTickstream(item: unknown): unknown {
  if (!isRecord(item) || item.upstreamSeq !== undefined || item.seq === undefined) return item;
  const { seq, ...rest } = item;
  return { ...rest, upstreamSeq: seq };
}

/**
 * IEX Cloud's quote object. IEX reports "no quote" as 0 or null for bid and ask, and null for fields it does
 * not have; those are left out rather than counted as bad.
 */
function fromIex(item: unknown): unknown {
  if (!isRecord(item)) return item;
  const quote: Record<string, unknown> = {
    symbol: item.symbol,
    price: item.latestPrice ?? item.iexRealtimePrice,
    ts: item.latestUpdate ?? item.iexLastUpdated,
  };
  const optional: [string, unknown][] = [
    ['bid', item.iexBidPrice],
    ['ask', item.iexAskPrice],
    ['size', item.iexRealtimeSize ?? item.latestSize],
    ['volume', item.latestVolume],
    ['prevClose', item.previousClose],
    ['open', item.open],
    ['high', item.high],
    ['low', item.low],
  ];
  for (const [field, value] of optional) {
    if (value === null || value === undefined) continue;
    if ((field === 'bid' || field === 'ask') && value === 0) continue;
    quote[field] = value;
  }
  return quote;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
