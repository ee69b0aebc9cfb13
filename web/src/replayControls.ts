import { DateTime } from 'luxon';
import type { TickstreamClient } from '../../packages/client/src/index.js';
import type { ReplayCommand, ReplayStatus } from '../../src/protocol.js';
import { exchangeZone, speedText } from './format.js';

export type ReplayElements = {
  panel: HTMLElement;
  toggle: HTMLButtonElement;
  speed: HTMLSelectElement;
  seek: HTMLInputElement;
  position: HTMLElement;
  state: HTMLElement;
};

/** Pause, resume, speed and seek for a replaying server; shown only while status.replay is present. */
export class ReplayControls {
  private replay: ReplayStatus | undefined;
  /** The exchange's zone: the position reads as the watchlist's times do. */
  private zone = exchangeZone(undefined);
  private dragging = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly elements: ReplayElements,
    private readonly client: Pick<TickstreamClient, 'replay'>,
    private readonly onError: (message: string) => void,
  ) {
    const signal = this.abort.signal;
    const { toggle, speed, seek } = elements;
    toggle.addEventListener('click', () => this.send({ action: this.replay?.paused ? 'resume' : 'pause' }), { signal });
    speed.addEventListener(
      'change',
      () => this.send({ action: 'speed', speed: speed.value === 'max' ? 'max' : Number(speed.value) }),
      { signal },
    );
    // Follow the replay head, except while the user holds the slider.
    let heldAt = '';
    seek.addEventListener(
      'pointerdown',
      () => {
        this.dragging = true;
        heldAt = seek.value;
      },
      { signal },
    );
    // Let go where it was taken (a click on the thumb, a drag back): no change event comes, so the slider
    // follows the replay again here; otherwise the change below does it, with the seek.
    window.addEventListener(
      'pointerup',
      () => {
        if (this.dragging && seek.value === heldAt) this.dragging = false;
      },
      { signal },
    );
    window.addEventListener('pointercancel', () => (this.dragging = false), { signal });
    seek.addEventListener('input', () => this.showPosition(Number(seek.value)), { signal });
    seek.addEventListener(
      'change',
      () => {
        this.dragging = false;
        this.send({ action: 'seek', position: Number(seek.value) });
      },
      { signal },
    );
  }

  render(replay: ReplayStatus | undefined, zone?: string): void {
    this.replay = replay;
    if (zone) this.zone = zone;
    const { panel, toggle, speed, seek, state } = this.elements;
    panel.hidden = !replay;
    if (!replay) return;
    toggle.textContent = replay.paused ? 'Resume' : 'Pause';
    toggle.setAttribute('aria-pressed', String(replay.paused));
    const speedValue = String(replay.speed);
    if (![...speed.options].some((o) => o.value === speedValue))
      speed.add(new Option(speedText(replay.speed), speedValue));
    if (document.activeElement !== speed) speed.value = speedValue;
    const from = replay.from ?? replay.position;
    const to = replay.to ?? replay.position;
    seek.min = String(from);
    seek.max = String(Math.max(to, from + 1));
    seek.disabled = replay.from === undefined || replay.to === undefined;
    if (!this.dragging) {
      seek.value = String(replay.position);
      this.showPosition(replay.position);
    }
    state.textContent = replay.ended ? 'ended' : replay.paused ? 'paused' : `playing ${speedText(replay.speed)}`;
  }

  dispose(): void {
    this.abort.abort();
  }

  private showPosition(position: number): void {
    const text = DateTime.fromMillis(position, { zone: this.zone }).toFormat('yyyy-LL-dd HH:mm:ss ZZZZ');
    this.elements.position.textContent = text;
    this.elements.seek.setAttribute('aria-valuetext', text);
  }

  private send(command: ReplayCommand): void {
    this.client.replay(command).then(
      (status) => this.render(status),
      (err: unknown) =>
        this.onError(`replay ${command.action} failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
}
