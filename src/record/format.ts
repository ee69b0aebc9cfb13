import { messageOf } from '../errorMessage.js';
import { validateQuote } from '../pipeline/normalizeQuote.js';
import { type Quote, type RawQuote, SYMBOL_PATTERN, type SymbolInfo } from '../protocol.js';

/**
 * The recorded feed file (docs/PROTOCOL.md): NDJSON, a header line, then one Quote-shaped object per line
 * with `recvTs`. `.gz` files are a series of gzip members, one per flush, so a killed writer leaves a
 * readable prefix.
 */
export const RECORDING_VERSION = 1;

export type RecordingHeader = {
  type: 'header';
  version: number;
  createdAt: string;
  sources: string[];
  /** Extension: the symbols the recorded feeds declared, so a replay can accept subscriptions at once. */
  symbols?: SymbolInfo[];
};

/** One recorded quote: what the pipeline delivered, plus when the recorder received it. */
export type RecordedQuote = Partial<Quote> & RawQuote & { recvTs: number };

export type LineVerdict =
  | { kind: 'header'; header: RecordingHeader }
  | { kind: 'record'; record: RecordedQuote }
  | { kind: 'bad'; reason: string };

export function isGzipName(file: string): boolean {
  return file.endsWith('.gz');
}

export function headerLine(header: Omit<RecordingHeader, 'type' | 'version'>): string {
  const full: RecordingHeader = { type: 'header', version: RECORDING_VERSION, ...header };
  return `${JSON.stringify(full)}\n`;
}

/** A quote as a record, with when it was received: its epoch is the recording server's own (a replay numbers quotes again), so it is left out. */
export function recordOf(quote: Quote | RawQuote, recvTs: number): RecordedQuote {
  if (!('epoch' in quote)) return { ...quote, recvTs };
  const { epoch: _epoch, ...rest } = quote;
  return { ...rest, recvTs };
}

export function recordLine(record: RecordedQuote): string {
  return `${JSON.stringify(record)}\n`;
}

/** Classifies one line (without its newline). `first` says whether it is the file's first line. */
export function parseLine(text: string, first: boolean): LineVerdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'bad', reason: `not JSON (${messageOf(err)})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'bad', reason: 'not a JSON object' };
  }
  const input = value as Record<string, unknown>;
  if (input.type === 'header') {
    if (!first) return { kind: 'bad', reason: 'a header line after the first line' };
    if (input.version !== RECORDING_VERSION) return { kind: 'bad', reason: `unsupported version ${input.version}` };
    const sources = Array.isArray(input.sources) ? input.sources.filter((s) => typeof s === 'string') : [];
    const header: RecordingHeader = {
      type: 'header',
      version: RECORDING_VERSION,
      createdAt: typeof input.createdAt === 'string' ? input.createdAt : '',
      sources,
    };
    if (Array.isArray(input.symbols)) header.symbols = input.symbols.filter(isSymbolInfo);
    return { kind: 'header', header };
  }
  let refusal = '';
  const quote = validateQuote(value, (invalid) => {
    refusal ||= `${invalid.reason}${invalid.field ? ` (${invalid.field})` : ''}`;
  });
  if (!quote) return { kind: 'bad', reason: `not a quote: ${refusal}` };
  const recvTs = input.recvTs ?? quote.ts;
  if (typeof recvTs !== 'number' || !Number.isFinite(recvTs) || recvTs <= 0) {
    return { kind: 'bad', reason: 'not a quote: bad recvTs' };
  }
  // Keep the recorded object whole (seq, change...): the pipeline's normalizeQuote re-validates on replay. The
  // object itself when nothing changes: this runs for every line of a replay.
  const record = input as RecordedQuote;
  if (record.symbol === quote.symbol && record.recvTs === recvTs) return { kind: 'record', record };
  return { kind: 'record', record: { ...record, symbol: quote.symbol, recvTs } };
}

/**
 * A record line of a file its index has vouched for (every line was parsed and validated when it was
 * indexed, and the file has not changed size since): only JSON.parse, when the symbol is written as the
 * pipeline writes it and the receive time is there; else the full check of `parseLine`. A replay runs this
 * for every line, and the pipeline validates each quote again anyway: no second object per line.
 */
export function parseIndexedLine(text: string): LineVerdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseLine(text, false);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'symbol' in value &&
    'recvTs' in value &&
    typeof value.symbol === 'string' &&
    typeof value.recvTs === 'number' &&
    SYMBOL_PATTERN.test(value.symbol) &&
    !('type' in value)
  ) {
    return { kind: 'record', record: value as RecordedQuote };
  }
  return parseLine(text, false);
}

function isSymbolInfo(value: unknown): value is SymbolInfo {
  return typeof value === 'object' && value !== null && typeof (value as SymbolInfo).symbol === 'string';
}
