import { z } from 'zod';
import {
  type ErrorAck,
  errorAck,
  type ReplayCommand,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from '../protocol.js';

// Symbols are checked one by one later (so one bad symbol, an over-long one too, does not fail the rest):
// here only that they are strings. The message size cap (server.maxHttpBufferSize) bounds their length.
const symbolList = z.array(z.string()).min(1, 'at least one symbol');

// Per symbol, the position of the newest quote the client already has: [epoch, seq], whole numbers as the
// server gives them (a fraction or a negative cannot be a position it sent).
const position = z.number().int().nonnegative();
const resume = z.record(z.string().max(64), z.tuple([position, position]));
const subscribeSchema = z.object({
  symbols: symbolList,
  maxHz: z.number().positive().finite().optional(),
  resume: resume.optional(),
});
const unsubscribeSchema = z.object({ symbols: symbolList });
const replaySchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('pause') }),
  z.object({ action: z.literal('resume') }),
  z.object({ action: z.literal('speed'), speed: z.union([z.number().min(0.5).max(50), z.literal('max')]) }),
  z.object({ action: z.literal('seek'), position: z.number().finite() }),
]);

export type Parsed<T> = { ok: true; value: T } | ErrorAck;

function parseWith<T>(schema: z.ZodType<T>, payload: unknown, maxSymbols?: number): Parsed<T> {
  if (maxSymbols !== undefined && payload && typeof payload === 'object' && 'symbols' in payload) {
    const { symbols } = payload;
    if (Array.isArray(symbols) && symbols.length > maxSymbols) {
      return errorAck('LIMIT_EXCEEDED', `at most ${maxSymbols} symbols per request, got ${symbols.length}`);
    }
    const positions = 'resume' in payload ? payload.resume : undefined;
    if (positions && typeof positions === 'object' && Object.keys(positions).length > maxSymbols) {
      return errorAck('LIMIT_EXCEEDED', `at most ${maxSymbols} resume positions per request`);
    }
  }
  const result = schema.safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'payload';
  return errorAck('BAD_REQUEST', `${where}: ${issue?.message.replace(/^Invalid input: /, '') ?? 'invalid'}`);
}

export const parseSubscribe = (payload: unknown, maxSymbols: number): Parsed<SubscribeRequest> =>
  parseWith(subscribeSchema, payload, maxSymbols);
export const parseUnsubscribe = (payload: unknown, maxSymbols: number): Parsed<UnsubscribeRequest> =>
  parseWith(unsubscribeSchema, payload, maxSymbols);
export const parseReplayCommand = (payload: unknown): Parsed<ReplayCommand> => parseWith(replaySchema, payload);
