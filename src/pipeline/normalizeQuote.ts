import { filter, map, type OperatorFunction, pipe } from 'rxjs';
import { normalizeSymbol, type RawQuote, SYMBOL_PATTERN } from '../protocol.js';

export type InvalidReason = 'not_object' | 'bad_symbol' | 'bad_price' | 'bad_ts' | 'bad_field';
export type InvalidInput = { reason: InvalidReason; field?: string; value: unknown };

const OPTIONAL_POSITIVE = ['bid', 'ask', 'open', 'high', 'low', 'prevClose'] as const;
const OPTIONAL_NON_NEGATIVE = ['size', 'volume'] as const;

/** Reports why a value was refused. Not a closure per call: this runs for every tick. */
function refuse(onInvalid: ((invalid: InvalidInput) => void) | undefined, invalid: InvalidInput): undefined {
  onInvalid?.(invalid);
  return undefined;
}

/**
 * Checks one feed value against the Quote schema. Returns the normalized quote, or why it was refused.
 * A bad required field (symbol, price, ts) refuses the whole value; a bad optional field is dropped alone.
 */
export function validateQuote(
  value: unknown,
  onInvalid?: (invalid: InvalidInput) => void,
  defaultSource?: string,
): RawQuote | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return refuse(onInvalid, { reason: 'not_object', value });
  const input = value as Record<string, unknown>;
  const symbol = typeof input.symbol === 'string' ? normalizeSymbol(input.symbol) : undefined;
  if (!symbol || !SYMBOL_PATTERN.test(symbol))
    return refuse(onInvalid, { reason: 'bad_symbol', field: 'symbol', value });
  const price = input.price;
  if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0)
    return refuse(onInvalid, { reason: 'bad_price', field: 'price', value });
  const ts = input.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts <= 0)
    return refuse(onInvalid, { reason: 'bad_ts', field: 'ts', value });

  const quote: RawQuote = { symbol, price, ts };
  for (const field of OPTIONAL_POSITIVE) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) quote[field] = v;
    else onInvalid?.({ reason: 'bad_field', field, value });
  }
  for (const field of OPTIONAL_NON_NEGATIVE) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) quote[field] = v;
    else onInvalid?.({ reason: 'bad_field', field, value });
  }
  if (typeof input.source === 'string' && input.source.length <= 64) quote.source = input.source;
  else if (defaultSource !== undefined) quote.source = defaultSource;
  if (typeof input.upstreamSeq === 'number' && Number.isFinite(input.upstreamSeq))
    quote.upstreamSeq = input.upstreamSeq;
  return quote;
}

/** Validates and normalizes each value; invalid ones are reported to `onInvalid` and dropped. */
export function normalizeQuote(
  onInvalid?: (invalid: InvalidInput) => void,
  defaultSource?: string,
): OperatorFunction<unknown, RawQuote> {
  // map + filter rather than concatMap(of/EMPTY): no inner Observable per tick on the hottest path.
  return pipe(
    map((value: unknown) => validateQuote(value, onInvalid, defaultSource)),
    filter((quote): quote is RawQuote => quote !== undefined),
  );
}
