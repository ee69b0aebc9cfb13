import {
  asyncScheduler,
  distinctUntilChanged,
  EMPTY,
  map,
  merge,
  Observable,
  type SchedulerLike,
  Subject,
  Subscription,
  scan,
  switchMap,
  timer,
} from 'rxjs';
import type { QuoteSource, QuoteText } from '../delivery/types.js';
import type { Quote } from '../protocol.js';
import { quoteJson } from '../quoteJson.js';
import { type ClusterKeys, quoteChannel, quoteChannelPattern, symbolOfChannel } from './keys.js';
import { ChannelQuote } from './quoteCodec.js';
import type { RedisLink, RedisListener } from './redisLink.js';
import { whileRedisUp } from './whileRedisUp.js';

/**
 * Ingest side: every quote of each symbol some gateway watches, published once to the symbol's sharded
 * channel (SPUBLISH), whatever the number of gateways and clients. The quotes of one event-loop turn go
 * together (RedisLink.publishAll), in order. A quote made while Redis is down is dropped and reported, not
 * queued: it would arrive stale.
 */
export function publishQuotes(
  source: { quotes(symbol: string): Observable<Quote> },
  demand$: Observable<ReadonlySet<string>>,
  link: RedisLink,
  keys: ClusterKeys,
  hooks: {
    onPublished?: (count: number) => void;
    onFailure: (err: unknown, count: number) => void;
    onDemand?: (symbols: number) => void;
  },
): Subscription {
  const active = new Map<string, Subscription>();
  // A turn's quotes go together, and one batch at a time: what comes while one is out goes in the next, so
  // a batch resent one by one (a Redis that refused the script) cannot be overtaken.
  let turn: [channel: string, message: string][] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let sending = false;
  const send = () => {
    scheduled = undefined;
    if (sending || turn.length === 0) return;
    const messages = turn;
    turn = [];
    sending = true;
    void link.publishAll(messages).then((outcome) => {
      sending = false;
      if (outcome.published > 0) hooks.onPublished?.(outcome.published);
      if (outcome.failed > 0) hooks.onFailure(outcome.error, outcome.failed);
      send();
    });
  };
  const publish = (channel: string, quote: Quote) => {
    if (!link.isUp()) {
      hooks.onFailure(new Error('redis unavailable'), 1);
      return;
    }
    turn.push([channel, quoteJson(quote)]);
    scheduled ??= setImmediate(send);
  };
  const owner = new Subscription();
  owner.add(
    demand$.subscribe((symbols) => {
      for (const [symbol, subscription] of [...active]) {
        if (symbols.has(symbol)) continue;
        subscription.unsubscribe();
        active.delete(symbol);
      }
      for (const symbol of symbols) {
        if (active.has(symbol)) continue;
        const channel = quoteChannel(keys, symbol);
        active.set(
          symbol,
          source.quotes(symbol).subscribe((quote) => publish(channel, quote)),
        );
      }
      hooks.onDemand?.(active.size);
    }),
  );
  owner.add(() => {
    for (const subscription of active.values()) subscription.unsubscribe();
    active.clear();
    // The last turn still goes out: the link's close waits for the replies.
    if (scheduled) clearImmediate(scheduled);
    send();
  });
  return owner;
}

type DemandEvent =
  | { kind: 'poll'; at: number; symbols: ReadonlySet<string> }
  | { kind: 'announce'; at: number; symbol: string };
type DemandState = {
  polled: ReadonlySet<string>;
  announced: ReadonlyMap<string, number>;
  symbols: ReadonlySet<string>;
};

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Messages on a plain pub/sub channel, for as long as the Observable is subscribed. */
function channelMessages(link: RedisLink, channel: string): Observable<string> {
  return new Observable<string>((subscriber) => {
    const listener: RedisListener = (message) => subscriber.next(String(message));
    link.sub.subscribe(channel, listener).catch((err: unknown) => subscriber.error(err));
    return () => {
      link.sub.unsubscribe(channel, listener).catch(() => {});
    };
  });
}

/**
 * Ingest side: the symbols some gateway watches. The source of truth is Redis's own table of sharded
 * subscriptions (PUBSUB SHARDCHANNELS on every primary): a gateway subscribes to a symbol's channel while its
 * clients watch it, so the set heals itself when a gateway dies (its subscriptions go with its connection)
 * or Redis restarts (the gateways subscribe again). It is read as soon as Redis is up, then every `pollMs`;
 * a symbol a gateway announces counts at once, until a poll issued after the announcement says otherwise.
 * While Redis is down the last set is kept.
 */
export function gatewayDemand(
  link: RedisLink,
  keys: ClusterKeys,
  pollMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<ReadonlySet<string>> {
  const pattern = quoteChannelPattern(keys);
  // Read the moment Redis is up (a restarted ingest publishes at once, not a poll later); not while it is down.
  const polled$ = link.up$.pipe(
    switchMap((up) => (up ? timer(0, pollMs, scheduler) : EMPTY)),
    whileRedisUp(link, 'demand poll', async (): Promise<DemandEvent> => {
      const at = scheduler.now();
      const symbols = new Set<string>();
      for (const channel of await link.shardChannels(pattern)) {
        const symbol = symbolOfChannel(keys, String(channel));
        if (symbol) symbols.add(symbol);
      }
      return { kind: 'poll', at, symbols };
    }),
  );
  const announced$ = channelMessages(link, keys.demand).pipe(
    map((symbol): DemandEvent => ({ kind: 'announce', at: scheduler.now(), symbol })),
  );
  const initial: DemandState = { polled: new Set(), announced: new Map(), symbols: new Set() };
  return merge(polled$, announced$).pipe(
    scan((state: DemandState, event) => {
      if (event.kind === 'announce') {
        const announced = new Map(state.announced).set(event.symbol, event.at);
        return { ...state, announced, symbols: new Set([...state.symbols, event.symbol]) };
      }
      const announced = new Map([...state.announced].filter(([, at]) => at >= event.at));
      return { polled: event.symbols, announced, symbols: new Set([...event.symbols, ...announced.keys()]) };
    }, initial),
    map((state) => state.symbols),
    distinctUntilChanged(sameSet),
  );
}

/**
 * Gateway side: the quote source over Redis. A symbol's channel is subscribed (SSUBSCRIBE) while someone on
 * this gateway watches it, then announced so the ingest starts publishing it at once; so a gateway receives
 * only the symbols its clients watch. Each message is handed on as it came (ChannelQuote): delivery decodes
 * the ones it sends, at their rate tier, not every message. One that is not a valid quote of the channel's
 * symbol is reported when it is decoded and skipped; one replaced before that is dropped unread.
 */
export class RedisQuoteSource implements QuoteSource {
  private readonly channels = new Map<string, { hub: Subject<QuoteText>; listener: RedisListener }>();

  constructor(
    private readonly link: RedisLink,
    private readonly keys: ClusterKeys,
    private readonly hooks: {
      onMessage?: () => void;
      onInvalid?: (channel: string) => void;
      /** The channel's subscribe or the demand announce failed: its quotes may not come until it is asked again. */
      onSubscribeFailed?: (channel: string, err: unknown) => void;
    } = {},
  ) {}

  quotes(symbol: string): Observable<QuoteText> {
    return new Observable<QuoteText>((subscriber) => {
      const channel = quoteChannel(this.keys, symbol);
      const entry = this.channels.get(symbol) ?? this.open(symbol, channel);
      const inner = entry.hub.subscribe(subscriber);
      return () => {
        inner.unsubscribe();
        if (entry.hub.observed || this.channels.get(symbol) !== entry) return;
        this.channels.delete(symbol);
        this.link.sub.sUnsubscribe(channel, entry.listener).catch(() => {});
      };
    });
  }

  /** Subscribes to the symbol's channel, then announces it so the ingest publishes it without waiting for its next poll. */
  private open(symbol: string, channel: string): { hub: Subject<QuoteText>; listener: RedisListener } {
    const hub = new Subject<QuoteText>();
    const { onMessage, onInvalid } = this.hooks;
    const invalid = onInvalid && (() => onInvalid(channel));
    const listener: RedisListener = (message) => {
      onMessage?.();
      hub.next(new ChannelQuote(symbol, String(message), invalid));
    };
    const entry = { hub, listener };
    this.channels.set(symbol, entry);
    const { link } = this;
    link.sub
      .sSubscribe(channel, listener)
      .then(() => (link.isUp() ? link.command.publish(this.keys.demand, symbol) : 0))
      .catch((err: unknown) => this.hooks.onSubscribeFailed?.(channel, err));
    return entry;
  }
}
