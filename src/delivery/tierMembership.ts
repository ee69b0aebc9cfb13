import type { TickstreamSocket } from './types.js';

/** Lanes are kept at least this far apart, so a fast tier does not split into ticks too close to tell apart. */
const MIN_LANE_SPACING_MS = 5;

/**
 * Sockets of one lane of one tier that watch exactly the same symbols there: they get the same frame, so it
 * is encoded once and written to each (as Centrifuge shares an encoded publication per channel).
 */
export class LaneGroup {
  readonly members = new Set<TickstreamSocket>();
  readonly has: ReadonlySet<string>;
  /**
   * Field deltas (docs/PROTOCOL.md): a member that just joined has no base yet for the symbols listed here,
   * so its frames carry those whole until it has had each once; the others share the delta frame.
   */
  readonly needsBase = new Map<TickstreamSocket, Set<string>>();

  constructor(
    readonly key: string,
    readonly symbols: readonly string[],
    /** Its members asked for field deltas (they never share a group with those who did not). */
    readonly deltas: boolean,
  ) {
    this.has = new Set(symbols);
  }

  join(socket: TickstreamSocket): void {
    this.members.add(socket);
    if (this.deltas) this.needsBase.set(socket, new Set(this.symbols));
  }

  leave(socket: TickstreamSocket): void {
    this.members.delete(socket);
    this.needsBase.delete(socket);
  }
}

/** One lane of one tier: its groups, and how many groups watch each symbol (the symbols due at its tick). */
export type Lane = {
  readonly groups: Map<string, LaneGroup>;
  readonly symbols: Map<string, number>;
};

/** Membership changes the delivery side follows. */
export type MembershipHooks = {
  /** The first socket watches `symbol` (at any tier): its quotes are needed now. */
  symbolWatched(symbol: string): void;
  /** The last socket stopped watching `symbol`. */
  symbolUnwatched(symbol: string): void;
  /** The first socket joined the tier at `hz`: its clock runs. */
  tierOpened(hz: number): void;
  /** The last socket left the tier at `hz`. */
  tierClosed(hz: number): void;
};

type Member = {
  readonly socket: TickstreamSocket;
  /** Symbol -> the tier the socket asked for. */
  readonly requested: Map<string, number>;
  /** The tier the slow-consumer policy holds it at, when it does. */
  throttledHz?: number;
  /** Tier -> the group it is in there. */
  readonly groups: Map<number, LaneGroup>;
  /** A hash of its id: its lane at every tier. */
  readonly hash: number;
};

/** FNV-1a of a socket id: the same lane for every symbol a socket watches, with no bookkeeping. */
function idHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** A group's key: its sorted symbols, and whether its members take field deltas. */
function groupKey(sorted: readonly string[], deltas: boolean): string {
  return deltas ? `Δ${sorted.join(',')}` : sorted.join(',');
}

/** The lane of a socket among `lanes` (members keep their id's hash, so membership asks `laneAt`). */
export function laneOf(socketId: string, lanes: number): number {
  return laneAt(idHash(socketId), lanes);
}

/** The lane of an id's hash among `lanes`: the one rule for where a socket ticks. */
function laneAt(hash: number, lanes: number): number {
  return hash % lanes;
}

/** The tier a subscription at `hz` is delivered at, while the socket is held at `throttledHz`. */
function deliveredHz(hz: number, throttledHz: number | undefined): number {
  return throttledHz === undefined ? hz : Math.min(hz, throttledHz);
}

/**
 * The one owner of who watches which symbol at which rate, throttled or not. The request handlers and the
 * slow-consumer policy change it; delivery reads it by tier and lane. Each tier's sockets are spread over
 * `lanes` evenly spaced phases of its interval by a hash of their id, so a tick writes one lane's sockets
 * rather than all of them at once; within a lane, sockets that watch the same set share a group.
 */
export class TierMembership {
  private readonly members = new Map<string, Member>();
  private readonly tiers = new Map<number, Lane[]>();
  private readonly watchers = new Map<string, number>();
  private hooks: MembershipHooks = { symbolWatched() {}, symbolUnwatched() {}, tierOpened() {}, tierClosed() {} };
  private readonly socketChanged: ((socket: TickstreamSocket) => void)[] = [];

  constructor(private readonly lanes: number) {}

  /** Who hears the changes (delivery): set once, before the first socket joins. */
  follow(hooks: MembershipHooks): void {
    this.hooks = hooks;
  }

  /**
   * Calls `listener` after every change of a socket's subscriptions or delivered tiers, for followers that only
   * show membership (the Admin UI's rooms); delivery follows through `follow`.
   */
  onSocketChanged(listener: (socket: TickstreamSocket) => void): void {
    this.socketChanged.push(listener);
  }

  /** How many lanes the tier at `hz` has: `lanes`, fewer when they would fall closer than 5 ms apart. */
  lanesOf(hz: number): number {
    return Math.max(1, Math.min(this.lanes, Math.floor(1000 / hz / MIN_LANE_SPACING_MS)));
  }

  /**
   * Subscribes `socket` to `symbols` at the tier `hz` (a symbol it already has moves to that tier). A socket
   * that has disconnected is not taken back: a subscribe that awaited the symbol directory may end after the
   * socket's `leave`, and nothing would remove it again.
   */
  subscribe(socket: TickstreamSocket, symbols: readonly string[], hz: number): void {
    if (!socket.connected) return;
    const member = this.memberOf(socket);
    for (const symbol of symbols) member.requested.set(symbol, hz);
    this.regroup(member);
  }

  unsubscribe(socket: TickstreamSocket, symbols: readonly string[]): void {
    const member = this.members.get(socket.id);
    if (!member) return;
    for (const symbol of symbols) member.requested.delete(symbol);
    this.regroup(member);
  }

  /** The socket is gone: it leaves every tier. */
  leave(socket: TickstreamSocket): void {
    const member = this.members.get(socket.id);
    if (!member) return;
    member.requested.clear();
    this.regroup(member);
    this.members.delete(socket.id);
  }

  /**
   * Holds the socket's subscriptions at the tier `hz` at most (undefined: as asked again). Returns the symbols
   * whose delivered tier changed.
   */
  throttle(socket: TickstreamSocket, hz: number | undefined): string[] {
    if (!socket.connected) return [];
    const member = this.memberOf(socket);
    if (member.throttledHz === hz) return [];
    const before = member.throttledHz;
    member.throttledHz = hz;
    const moved = [...member.requested].filter(([, asked]) => deliveredHz(asked, before) !== deliveredHz(asked, hz));
    this.regroup(member);
    return moved.map(([symbol]) => symbol);
  }

  /** Symbol -> the tier the socket asked for. */
  subscriptions(socket: TickstreamSocket): ReadonlyMap<string, number> {
    return this.members.get(socket.id)?.requested ?? new Map();
  }

  /** Symbol -> the tier it is delivered at now (lower than asked while throttled). */
  deliveredTiers(socket: TickstreamSocket): Map<string, number> {
    const out = new Map<string, number>();
    for (const [hz, group] of this.members.get(socket.id)?.groups ?? [])
      for (const symbol of group.symbols) out.set(symbol, hz);
    return out;
  }

  isThrottled(socket: TickstreamSocket): boolean {
    return this.members.get(socket.id)?.throttledHz !== undefined;
  }

  /** Subscriptions across all sockets. */
  get size(): number {
    let n = 0;
    for (const member of this.members.values()) n += member.requested.size;
    return n;
  }

  /** Lane `lane` of the tier at `hz`, while the tier has sockets. */
  lane(hz: number, lane: number): Lane | undefined {
    return this.tiers.get(hz)?.[lane];
  }

  /** The tiers that have sockets. */
  activeTiers(): IterableIterator<number> {
    return this.tiers.keys();
  }

  private memberOf(socket: TickstreamSocket): Member {
    let member = this.members.get(socket.id);
    if (!member) {
      member = { socket, requested: new Map(), groups: new Map(), hash: idHash(socket.id) };
      this.members.set(socket.id, member);
    }
    return member;
  }

  /**
   * Moves the member into the group of its new symbol set at each tier. New demand is announced before
   * demand goes, so a symbol that only changes tier never looks unwatched in between.
   */
  private regroup(member: Member): void {
    const wanted = new Map<number, string[]>();
    for (const [symbol, asked] of member.requested) {
      const hz = deliveredHz(asked, member.throttledHz);
      const list = wanted.get(hz);
      if (list) list.push(symbol);
      else wanted.set(hz, [symbol]);
    }
    const gone: string[] = [];
    const before = new Set<string>();
    for (const group of member.groups.values()) for (const symbol of group.symbols) before.add(symbol);
    for (const symbol of member.requested.keys()) {
      if (!before.has(symbol)) this.watch(symbol);
    }
    for (const [hz, group] of [...member.groups]) {
      const symbols = wanted.get(hz)?.sort();
      if (symbols && groupKey(symbols, group.deltas) === group.key) {
        wanted.delete(hz);
        continue;
      }
      this.exitGroup(member, hz, group);
    }
    for (const [hz, symbols] of wanted) this.enterGroup(member, hz, symbols.sort());
    for (const symbol of before) if (!member.requested.has(symbol)) gone.push(symbol);
    for (const symbol of gone) this.unwatch(symbol);
    for (const listener of this.socketChanged) listener(member.socket);
  }

  private enterGroup(member: Member, hz: number, symbols: string[]): void {
    let lanes = this.tiers.get(hz);
    if (!lanes) {
      lanes = Array.from({ length: this.lanesOf(hz) }, () => ({ groups: new Map(), symbols: new Map() }));
      this.tiers.set(hz, lanes);
      this.hooks.tierOpened(hz);
    }
    const lane = lanes[laneAt(member.hash, lanes.length)] as Lane;
    const deltas = member.socket.data.deltas === true;
    const key = groupKey(symbols, deltas);
    let group = lane.groups.get(key);
    if (!group) {
      group = new LaneGroup(key, symbols, deltas);
      lane.groups.set(key, group);
      for (const symbol of symbols) lane.symbols.set(symbol, (lane.symbols.get(symbol) ?? 0) + 1);
    }
    group.join(member.socket);
    member.groups.set(hz, group);
  }

  private exitGroup(member: Member, hz: number, group: LaneGroup): void {
    member.groups.delete(hz);
    group.leave(member.socket);
    const lanes = this.tiers.get(hz);
    if (!lanes || group.members.size > 0) return;
    const lane = lanes[laneAt(member.hash, lanes.length)] as Lane;
    lane.groups.delete(group.key);
    for (const symbol of group.symbols) {
      const n = (lane.symbols.get(symbol) ?? 1) - 1;
      if (n > 0) lane.symbols.set(symbol, n);
      else lane.symbols.delete(symbol);
    }
    if (lanes.every((l) => l.groups.size === 0)) {
      this.tiers.delete(hz);
      this.hooks.tierClosed(hz);
    }
  }

  private watch(symbol: string): void {
    const n = this.watchers.get(symbol) ?? 0;
    this.watchers.set(symbol, n + 1);
    if (n === 0) this.hooks.symbolWatched(symbol);
  }

  private unwatch(symbol: string): void {
    const n = (this.watchers.get(symbol) ?? 1) - 1;
    if (n > 0) {
      this.watchers.set(symbol, n);
      return;
    }
    this.watchers.delete(symbol);
    this.hooks.symbolUnwatched(symbol);
  }
}
