import type { Quote } from './protocol.js';

/**
 * A quote's JSON text, made once per quote object, whoever asks first. The ingest publishes it to the
 * symbol's channel and writes the same text to the last-value hash; a gateway keeps the text it parsed a
 * quote from, and its frames carry that text instead of serializing the quote again. A numbered quote is
 * never changed, so its text cannot go stale; the WeakMap lets it go with the quote.
 */
const texts = new WeakMap<Quote, string>();

export function quoteJson(quote: Quote): string {
  let text = texts.get(quote);
  if (text === undefined) {
    text = JSON.stringify(quote);
    texts.set(quote, text);
  }
  return text;
}

/** The text a quote already has, if any: for a reader that keeps its own cache of what it encodes. */
export function knownJson(quote: Quote): string | undefined {
  return texts.get(quote);
}

/**
 * Records the text a quote was parsed from, as its JSON. Only for text `quoteJson` made in another process
 * (our ingest's): serializing the parsed quote again gives the same text.
 */
export function parsedFrom(quote: Quote, text: string): void {
  texts.set(quote, text);
}
