import { DateTime } from 'luxon';
import type { ConnectionState } from '../../packages/client/src/index.js';
import type { FeedStatus, ReplayStatus, Status } from '../../src/protocol.js';
import { formatUntil, speedText } from './format.js';

const SESSION_NAMES = { pre: 'pre-market', open: 'open', post: 'after-hours', closed: 'closed' } as const;
const NEXT_NAMES = { pre: 'opens', open: 'closes', post: 'ends', closed: 'pre-market' } as const;

/** What a replay is doing, for its badge: its icon (data-replay) and its words. */
function replayState(replay: ReplayStatus | undefined): { icon: 'playing' | 'paused' | 'ended'; words: string } {
  if (!replay) return { icon: 'playing', words: '' };
  if (replay.ended) return { icon: 'ended', words: 'ended' };
  if (replay.paused) return { icon: 'paused', words: 'paused' };
  return { icon: 'playing', words: speedText(replay.speed) };
}

/**
 * Connection, feeds and market session. Only the connection badge is a live region: feed and session
 * changes are visible but not announced, and ticks never are. The session line is at `now()`: during a
 * replay, the recorded moment.
 */
export class StatusPanel {
  private status: Status | undefined;
  /** Without a connection the last status is old news: the feeds' states are unknown until it is back. */
  private connected = false;

  constructor(
    private readonly elements: { connection: HTMLElement; feeds: HTMLElement; session: HTMLElement },
    private readonly now: () => number = Date.now,
  ) {}

  connection(state: ConnectionState): void {
    const { connection } = this.elements;
    connection.dataset.state = state;
    connection.textContent =
      state === 'connected' ? 'connected' : state === 'connecting' ? 'connecting…' : 'disconnected';
    const connected = state === 'connected';
    if (connected === this.connected) return;
    this.connected = connected;
    this.renderFeeds();
  }

  render(status: Status): void {
    this.status = status;
    this.renderFeeds();
    this.renderSession();
  }

  private renderFeeds(): void {
    const status = this.status;
    if (!status) return;
    this.elements.feeds.replaceChildren(
      ...status.feeds.map((feed) => (this.connected ? this.chip(feed, status.replay) : this.unknownChip(feed))),
    );
  }

  /** A feed as the page last heard of it, the connection since lost: never "live" in green. */
  private unknownChip(feed: FeedStatus): HTMLElement {
    const chip = this.emptyChip(feed);
    chip.dataset.state = 'unknown';
    chip.textContent = `${feed.id}: unknown`;
    chip.title = `no connection to the server: the feed's state is unknown (it was ${feed.state})`;
    return chip;
  }

  private emptyChip(feed: FeedStatus): HTMLElement {
    const chip = document.createElement('span');
    chip.className = 'badge feed';
    chip.dataset.feed = feed.id;
    return chip;
  }

  private chip(feed: FeedStatus, replay: ReplayStatus | undefined): HTMLElement {
    const chip = this.emptyChip(feed);
    chip.dataset.state = feed.state;
    if (feed.state === 'replay') {
      // The feed of `tickstream replay` is called "replay": say it once.
      const { icon, words } = replayState(replay);
      chip.dataset.replay = icon;
      const name = feed.id === 'replay' ? 'replay' : `${feed.id} replay`;
      chip.textContent = words ? `${name} · ${words}` : name;
      chip.title = `replaying a recording (feed ${feed.id})`;
      return chip;
    }
    chip.textContent = `${feed.id}: ${feed.state}`;
    if (feed.lastTs && feed.state !== 'live') {
      chip.title = `last tick ${DateTime.fromMillis(feed.lastTs).toFormat('HH:mm:ss')}`;
    }
    return chip;
  }

  /** The session line says how long until the next change, so it is redrawn now and then. */
  renderSession(): void {
    const session = this.status?.session;
    const element = this.elements.session;
    if (!session) {
      element.textContent = '';
      return;
    }
    element.dataset.state = session.state;
    const next = DateTime.fromISO(session.nextChange, { setZone: true });
    const at = next.isValid
      ? `${NEXT_NAMES[session.state]} ${next.toFormat('ccc HH:mm')} (in ${formatUntil(next, DateTime.fromMillis(this.now()))})`
      : '';
    element.textContent = `${session.exchange} ${SESSION_NAMES[session.state]}${at ? ` · ${at}` : ''}`;
    element.title = next.isValid ? `your time: ${next.toLocal().toFormat('ccc HH:mm ZZZZ')}` : '';
  }
}
