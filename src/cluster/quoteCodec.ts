import type { QuoteText } from '../delivery/types.js';
import type { Quote } from '../protocol.js';
import { parsedFrom } from '../quoteJson.js';

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A Quote from its JSON in Redis (a quote channel's message, a last-value field), or undefined when the text
 * is not one: what another process wrote is checked, not trusted. A quote keeps the text as its JSON
 * (quoteJson), so frames carry the ingest's text instead of a second serialization.
 */
export function decodeQuote(text: string | null | undefined): Quote | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const q = value as Partial<Quote>;
  if (
    !(
      typeof q.symbol === 'string' &&
      isFiniteNumber(q.price) &&
      q.price > 0 &&
      isFiniteNumber(q.ts) &&
      isFiniteNumber(q.epoch) &&
      isFiniteNumber(q.seq)
    )
  )
    return undefined;
  const quote = value as Quote;
  parsedFrom(quote, text);
  return quote;
}

/**
 * A quote channel's message as it came, decoded on first use (delivery decodes only the quotes it sends).
 * A class, not a closure per message: a gateway makes one per message it receives.
 */
export class ChannelQuote implements QuoteText {
  private decoded: Quote | undefined | null = null;

  constructor(
    readonly symbol: string,
    private readonly text: string,
    private readonly onInvalid: (() => void) | undefined,
  ) {}

  decode(): Quote | undefined {
    if (this.decoded === null) {
      const quote = decodeQuote(this.text);
      this.decoded = quote?.symbol === this.symbol ? quote : undefined;
      if (this.decoded === undefined) this.onInvalid?.();
    }
    return this.decoded;
  }
}
