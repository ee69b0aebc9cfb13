import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  type ClientToServerEvents,
  type ErrorAck,
  errorAck,
  isNewer,
  normalizeSymbol,
  type Rejection,
  type ReplayAck,
  type SubscribeAck,
  type SymbolsAck,
  type UnsubscribeAck,
} from '../protocol.js';
import type { AccessPolicy } from './accessPolicy.js';
import { rateTier } from './rateTier.js';
import { parseReplayCommand, parseSubscribe, parseUnsubscribe } from './requests.js';
import { checkSymbol } from './symbolChecks.js';
import type { TierMembership } from './tierMembership.js';
import { TokenBucket } from './tokenBucket.js';
import type { Access, EdgeSources, Refusal, TickstreamSocket } from './types.js';

/** What the request handlers read of the configuration. */
export type RequestLimits = Pick<
  Config['limits'],
  'maxSymbolsPerSocket' | 'maxSymbolsPerRequest' | 'requestsPerSecond' | 'requestBurst'
> &
  Pick<Config['pipeline'], 'tiers' | 'defaultHz'>;

export type ClientRequestsDeps = {
  limits: RequestLimits;
  sources: Pick<EdgeSources, 'lastValues' | 'directory' | 'replay'>;
  membership: TierMembership;
  metrics: Metrics;
  logger: Logger;
  /** Who may send which event (SOCKET_ACCESS), asked before every request. */
  access: AccessPolicy;
};

type Ack<T> = (response: T) => void;
/** A request's handler: the answer to a socket's request, once the policy allowed it. */
type Handler<E extends keyof ClientToServerEvents> = (
  socket: TickstreamSocket,
  payload: unknown,
  allowed: Allowed,
) => AckOf<E> | ErrorAck | Promise<AckOf<E> | ErrorAck>;

/** Answers a socket may have waiting in turn before its refusals are answered at once (see inOrder). */
const MAX_WAITING = 64;

type HandlerOptions = {
  /** The request reads the symbol directory: a gateway that does not know it yet holds the request until it does. */
  needsDirectory?: boolean;
};

/** What the policy allowed a request (its symbol scope). */
type Allowed = Extract<Access, { ok: true }>;

/** The Socket.IO requests of the protocol: their validation, limits and answers. Membership changes go to TierMembership. */
export class ClientRequests {
  /**
   * One listener per event, shared by every socket (Socket.IO calls it with the socket as `this`): an idle
   * socket keeps no closures of ours.
   */
  private readonly listeners = {
    subscribe: this.handler('subscribe', (socket, payload, allowed) => this.subscribe(socket, payload, allowed), {
      needsDirectory: true,
    }),
    unsubscribe: this.handler('unsubscribe', (socket, payload) => this.unsubscribe(socket, payload)),
    symbols: this.handler(
      'symbols',
      (_socket, _payload, allowed): SymbolsAck => ({
        ok: true,
        symbols: this.deps.sources.directory.list().filter((info) => allowed.mayWatch(info.symbol)),
      }),
    ),
    replay: this.handler('replay', (_socket, payload) => this.replay(payload)),
  };

  /** Every event a socket sends, known or not: one outside the protocol is answered here, if it asks for an answer. */
  private readonly anyEvent = this.unknownEventListener();

  /**
   * Per socket, its last answer still under way: the next one waits for it, so a socket's requests are
   * applied and answered in the order it sent them. Here, not in `socket.data`: the Admin UI wraps that in a
   * Proxy, which a Promise does not survive.
   */
  private readonly answering = new WeakMap<TickstreamSocket, { last: Promise<void>; waiting: number }>();

  constructor(private readonly deps: ClientRequestsDeps) {}

  /** Registers the request handlers of a socket just accepted. */
  accept(socket: TickstreamSocket): void {
    socket.data.requestCount = 0;
    socket.on('subscribe', this.listeners.subscribe);
    socket.on('unsubscribe', this.listeners.unsubscribe);
    socket.on('symbols', this.listeners.symbols);
    socket.on('replay', this.listeners.replay);
    socket.onAny(this.anyEvent);
  }

  /**
   * An event the protocol does not have gets a BAD_REQUEST ack naming the ones it has (a client's typo would
   * otherwise wait for its ack timeout); without an ack it is only counted, as a known event would be. An
   * answer is a request like any other: it takes from the socket's budget.
   */
  private unknownEventListener(): (this: TickstreamSocket, event: unknown, ...args: unknown[]) => void {
    const known = new Set<unknown>(Object.keys(this.listeners));
    const names = [...known].join(', ');
    const requests = () => this; // its deps are set by the constructor, after the fields that call this
    return function (this: TickstreamSocket, event: unknown, ...args: unknown[]) {
      if (known.has(event)) return;
      const ack = args.at(-1);
      const { metrics } = requests().deps;
      if (typeof ack !== 'function') {
        metrics.requests.inc({ event: 'unknown', outcome: 'no_ack' });
        return;
      }
      // Socket.IO calls this as the packet arrives and a known event's listener on the next tick: this one
      // waits its tick too, so that it takes from the budget, and is answered, in the order sent.
      process.nextTick(() => {
        // As Socket.IO drops a known event that arrives for a socket gone meanwhile.
        if (!this.connected) return;
        const overBudget = requests().overBudget(this);
        metrics.requests.inc({ event: 'unknown', outcome: overBudget ? 'rate_limited' : 'error' });
        const answer = overBudget ?? errorAck('BAD_REQUEST', `unknown event ${String(event)}: the events are ${names}`);
        requests().inOrder(this, () => ack(answer), true);
      });
    };
  }

  /** The RATE_LIMITED answer when the socket has no request left in its budget; else one is taken. */
  private overBudget(socket: TickstreamSocket): ErrorAck | undefined {
    const { limits } = this.deps;
    socket.data.requests ??= new TokenBucket(limits.requestsPerSecond, limits.requestBurst);
    if (socket.data.requests.take()) return undefined;
    return errorAck('RATE_LIMITED', `more than ${limits.requestsPerSecond} requests per second`);
  }

  /** A socket's logger, made when it first logs: most sockets never do, and a child logger is kept per socket. */
  logOf(socket: TickstreamSocket): Logger {
    socket.data.log ??= this.deps.logger.child({ conn: socket.id.slice(0, 8) });
    return socket.data.log;
  }

  /**
   * A request's listener, for the typed `socket.on`: it tolerates any arguments (a client may send anything,
   * so each is read as unknown): the ack is the last argument when it is a function, the payload the first
   * one that is not. Without an ack there is no one to answer: the request is counted and dropped. The access
   * policy is asked first, from the grant the socket's handshake was admitted with.
   */
  private handler<E extends keyof ClientToServerEvents>(
    event: E,
    handler: Handler<E>,
    options: HandlerOptions = {},
  ): (this: TickstreamSocket, ...args: unknown[]) => void {
    const respond = (socket: TickstreamSocket, args: unknown[]) => this.respond(socket, event, handler, args, options);
    // Socket.IO's emitter calls a listener with the socket as `this`.
    return function (this: TickstreamSocket, ...args: unknown[]) {
      respond(this, args);
    };
  }

  private respond<E extends keyof ClientToServerEvents>(
    socket: TickstreamSocket,
    event: E,
    handler: Handler<E>,
    args: unknown[],
    options: HandlerOptions,
  ): void {
    const { metrics, access } = this.deps;
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (last as Ack<AckOf<E> | ErrorAck>) : undefined;
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    const req = `${socket.id.slice(0, 8)}-${++socket.data.requestCount}`;
    if (!ack) {
      metrics.requests.inc({ event, outcome: 'no_ack' });
      return;
    }
    const allowed = access.event(event, socket.data.grant);
    if (!allowed.ok) {
      metrics.requests.inc({ event, outcome: 'unauthorized' });
      const refusal = errorAck('UNAUTHORIZED', REFUSED[allowed.refusal.kind](event));
      this.inOrder(socket, () => ack(refusal), true);
      return;
    }
    const overBudget = this.overBudget(socket);
    if (overBudget) {
      metrics.requests.inc({ event, outcome: 'rate_limited' });
      this.inOrder(socket, () => ack(overBudget), true);
      return;
    }
    // Started now, not when the request's turn comes: the waits of a socket's queued requests overlap.
    const directoryKnown = options.needsDirectory ? this.deps.sources.directory.known?.() : undefined;
    this.inOrder(socket, async () => {
      let response: AckOf<E> | ErrorAck;
      try {
        await directoryKnown;
        response = await handler(socket, payload, allowed);
      } catch (err) {
        this.logOf(socket).error({ err, req, event }, 'request failed');
        metrics.requests.inc({ event, outcome: 'internal' });
        ack(errorAck('INTERNAL', 'internal error'));
        return;
      }
      metrics.requests.inc({ event, outcome: response.ok ? 'ok' : 'error' });
      if (this.deps.logger.isLevelEnabled('debug'))
        this.logOf(socket).debug({ req, event, ok: response.ok }, 'request');
      ack(response);
    });
  }

  /**
   * Answers once the socket's earlier requests are answered: a subscribe that waits (for the symbol directory,
   * a snapshot from Redis) holds back the requests sent after it, so an unsubscribe cannot be applied first.
   * A refusal past MAX_WAITING answers waiting is answered at once: a client flooding past its budget must not
   * make the server hold an answer per packet (the requests themselves are held to the budget).
   */
  private inOrder(socket: TickstreamSocket, answer: () => void | Promise<void>, refusal = false): void {
    const queue = this.answering.get(socket);
    if (refusal && queue && queue.waiting >= MAX_WAITING) {
      void answer();
      return;
    }
    const last = (queue?.last ?? Promise.resolve()).then(answer).catch((err: unknown) => {
      this.logOf(socket).error({ err }, 'answer failed');
    });
    const next = { last, waiting: (queue?.waiting ?? 0) + 1 };
    this.answering.set(socket, next);
    void last.then(() => {
      const current = this.answering.get(socket);
      if (!current) return;
      current.waiting--;
      // An idle socket keeps no promise.
      if (current.last === last) this.answering.delete(socket);
    });
  }

  private async subscribe(socket: TickstreamSocket, payload: unknown, allowed: Allowed): Promise<SubscribeAck> {
    const { limits, sources, membership } = this.deps;
    const parsed = parseSubscribe(payload, limits.maxSymbolsPerRequest);
    if (!parsed.ok) return parsed;
    const resume = new Map(Object.entries(parsed.value.resume ?? {}).map(([s, at]) => [normalizeSymbol(s), at]));
    const hz = rateTier(limits.tiers, parsed.value.maxHz ?? limits.defaultHz);
    const current = membership.subscriptions(socket);
    let count = current.size;
    const rejected: Rejection[] = [];
    const accepted: string[] = [];
    // Spellings of one symbol ('AAPL', ' aapl') are one symbol: one snapshot quote or one rejection, as /api/snapshot.
    for (const requested of new Set(parsed.value.symbols.map(normalizeSymbol))) {
      const checked = checkSymbol(requested, sources.directory, allowed.mayWatch);
      if (!checked.ok) {
        rejected.push(checked.rejection);
        continue;
      }
      const { symbol } = checked;
      if (!current.has(symbol)) {
        if (count >= limits.maxSymbolsPerSocket) {
          rejected.push({
            symbol,
            code: 'LIMIT_EXCEEDED',
            message: `at most ${limits.maxSymbolsPerSocket} symbols per connection`,
          });
          continue;
        }
        count++;
      }
      accepted.push(symbol);
    }
    // Joined before the snapshot is read: a tick may then arrive before the ack, never fall between the two.
    membership.subscribe(socket, accepted, hz);
    const snapshot = (await sources.lastValues.snapshot(accepted)).filter((quote) => {
      const known = resume.get(quote.symbol);
      return known === undefined || isNewer([quote.epoch, quote.seq], known);
    });
    return { ok: true, subscribed: [...membership.subscriptions(socket).keys()], hz, snapshot, rejected };
  }

  private unsubscribe(socket: TickstreamSocket, payload: unknown): UnsubscribeAck {
    const { membership, limits } = this.deps;
    const parsed = parseUnsubscribe(payload, limits.maxSymbolsPerRequest);
    if (!parsed.ok) return parsed;
    membership.unsubscribe(socket, parsed.value.symbols.map(normalizeSymbol));
    return { ok: true, subscribed: [...membership.subscriptions(socket).keys()] };
  }

  private async replay(payload: unknown): Promise<ReplayAck> {
    const { replay } = this.deps.sources;
    if (!replay) return errorAck('BAD_REQUEST', 'this server is not replaying a recording');
    const parsed = parseReplayCommand(payload);
    if (!parsed.ok) return parsed;
    return replay.command(parsed.value);
  }
}

/** The ack message of a request the access policy refused. */
const REFUSED: Record<Refusal['kind'], (event: string) => string> = {
  unauthenticated: (event) => `${event} needs a token`,
  forbidden: (event) => `${event} needs an admin token`,
};

/** The answer type of a request event: the argument of its ack callback. */
type AckOf<E extends keyof ClientToServerEvents> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
