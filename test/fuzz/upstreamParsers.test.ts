import { describe, it } from 'vitest';
import { fuzzUpstreamParsers } from './properties.js';

describe('fuzzing upstream parsers', () => {
  it('validateQuote, the SSE formats and the vendor codecs never throw, and accept only valid quotes', () => {
    fuzzUpstreamParsers({ numRuns: 3000 });
  });
});
