import { normalizeSymbol, type Rejection, SYMBOL_PATTERN } from '../protocol.js';
import type { SymbolSource } from './types.js';

export type SymbolCheck = { ok: true; symbol: string } | { ok: false; rejection: Rejection };

/**
 * One requested symbol, as subscribe, /api/snapshot and /api/history read it: well-formed, declared by a
 * feed, then allowed to this client (the access policy's `mayWatch`), in that order. A rejection names the
 * symbol as the server reads it (trimmed, upper case), whichever of the three refused it.
 */
export function checkSymbol(
  raw: string,
  directory: Pick<SymbolSource, 'has'>,
  mayWatch: (symbol: string) => boolean,
): SymbolCheck {
  const symbol = normalizeSymbol(raw);
  if (!SYMBOL_PATTERN.test(symbol)) {
    return { ok: false, rejection: { symbol, code: 'BAD_REQUEST', message: 'not a valid symbol' } };
  }
  if (!directory.has(symbol)) {
    return { ok: false, rejection: { symbol, code: 'UNKNOWN_SYMBOL', message: `unknown symbol ${symbol}` } };
  }
  if (!mayWatch(symbol)) {
    return { ok: false, rejection: { symbol, code: 'UNAUTHORIZED', message: `this token does not allow ${symbol}` } };
  }
  return { ok: true, symbol };
}
