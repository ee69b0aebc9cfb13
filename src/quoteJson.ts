import type { Quote } from './protocol.js';

/**
 * A quote's JSON text, made once per quote object, whoever asks first. The ingest publishes it to the
 * symbol's channel and writes the same text to the last-value hash; a gateway keeps the text it parsed a
 * quote from, and its frames carry that text instead of serializing the quote again. A numbered quote is
 * never changed, so its text cannot go stale.
 *
 * The text rides on the quote itself, under a symbol key that is not enumerable: JSON, msgpack, spreads and
 * equality checks do not see it, and it goes with the quote. A WeakMap cost a microsecond per quote here
 * (its ephemeron table is walked by every scavenge), at every message a gateway receives.
 */
const JSON_TEXT = Symbol('tickstream.json');

type WithText = { readonly [JSON_TEXT]?: string };

export function quoteJson(quote: Quote): string {
  const known = knownJson(quote);
  if (known !== undefined) return known;
  const text = JSON.stringify(quote);
  parsedFrom(quote, text);
  return text;
}

/** The text a quote already has, if any: for a reader that keeps its own cache of what it encodes. */
export function knownJson(quote: Quote): string | undefined {
  return (quote as WithText)[JSON_TEXT];
}

/**
 * Records the text a quote was parsed from, as its JSON. Only for text `quoteJson` made in another process
 * (our ingest's): serializing the parsed quote again gives the same text.
 */
export function parsedFrom(quote: Quote, text: string): void {
  Object.defineProperty(quote, JSON_TEXT, { value: text, configurable: true });
}
