import { DateTime } from 'luxon';
import type { ConnectionState } from '../../packages/client/src/index.js';
import type { Status } from '../../src/protocol.js';
import { formatUntil } from './format.js';

const SESSION_NAMES = { pre: 'pre-market', open: 'open', post: 'after-hours', closed: 'closed' } as const;
const NEXT_NAMES = { pre: 'opens', open: 'closes', post: 'ends', closed: 'pre-market' } as const;

/**
 * Connection, feeds and market session. Only the connection badge is a live region: feed and session
 * changes are visible but not announced, and ticks never are.
 */
export class StatusPanel {
  private status: Status | undefined;

  constructor(private readonly elements: { connection: HTMLElement; feeds: HTMLElement; session: HTMLElement }) {}

  connection(state: ConnectionState): void {
    const { connection } = this.elements;
    connection.dataset.state = state;
    connection.textContent =
      state === 'connected' ? 'connected' : state === 'connecting' ? 'connecting…' : 'disconnected';
  }

  render(status: Status): void {
    this.status = status;
    const chips = status.feeds.map((feed) => {
      const chip = document.createElement('span');
      chip.className = 'badge feed';
      chip.dataset.feed = feed.id;
      chip.dataset.state = feed.state;
      let text = `${feed.id}: ${feed.state}`;
      if (feed.state === 'replay' && status.replay) {
        const r = status.replay;
        const position = DateTime.fromMillis(r.position).toFormat('yyyy-LL-dd HH:mm:ss');
        text += ` ${r.paused ? 'paused' : `${r.speed === 'max' ? 'max' : `${r.speed}×`}`} @ ${position}`;
      }
      if (feed.lastTs && feed.state !== 'live')
        chip.title = `last tick ${DateTime.fromMillis(feed.lastTs).toFormat('HH:mm:ss')}`;
      chip.textContent = text;
      return chip;
    });
    this.elements.feeds.replaceChildren(...chips);
    this.renderSession();
  }

  /** The session line says how long until the next change, so it is redrawn now and then. */
  renderSession(now = DateTime.now()): void {
    const session = this.status?.session;
    const element = this.elements.session;
    if (!session) {
      element.textContent = '';
      return;
    }
    element.dataset.state = session.state;
    const next = DateTime.fromISO(session.nextChange, { setZone: true });
    const at = next.isValid
      ? `${NEXT_NAMES[session.state]} ${next.toFormat('ccc HH:mm')} (in ${formatUntil(next, now)})`
      : '';
    element.textContent = `${session.exchange} ${SESSION_NAMES[session.state]}${at ? ` · ${at}` : ''}`;
    element.title = next.isValid ? `your time: ${next.toLocal().toFormat('ccc HH:mm ZZZZ')}` : '';
  }
}
