import {
  type CandlestickData,
  CandlestickSeries,
  ColorType,
  createChart,
  type HistogramData,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { DateTime } from 'luxon';
import { BAR_MS, type Bar, type ErrorAck, type Quote } from '../../src/protocol.js';
import { authHeaders } from './credentials.js';
import { axisTimeLabel, dayOpenings, exchangeDate } from './format.js';

type HistoryResponse = { ok: true; symbol: string; bars: Bar[] } | ErrorAck;

/** A US trading session, in 1-minute bars: the most the chart shows at once. */
const SESSION_BARS = 390;
const MIN_VISIBLE_BARS = 60;
/** The volume's pane, under the candles' (0); the panes share the height 4 to 1. */
const VOLUME_PANE = 1;
const CANDLE_STRETCH = 4;
const VOLUME_STRETCH = 1;
const toTime = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;
const UP = '#3fb950';
const DOWN = '#f85149';
// Volume bars are dimmer than the candles they sit under.
const volumeColor = (bar: { open: number; close: number }) => (bar.close >= bar.open ? '#3fb95066' : '#f8514966');

/**
 * One symbol's 1-minute candles with their volume in a pane below: history from GET /api/history first, then
 * the live quotes extend the last candle or open the next one.
 */
export class ChartPanel {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private lastVolume: HistogramData<UTCTimestamp> | undefined;
  // The day's cumulative volume in the previous quote: a bar's volume grows by its increase, which stays
  // right when conflation skipped quotes (their sizes would be lost).
  private dayVolume: number | undefined;
  private symbol: string | undefined;
  private zone = 'America/New_York';
  private last: CandlestickData<UTCTimestamp> | undefined;
  private loading: AbortController | undefined;
  private loaded = false;
  /** The bars (seconds) that open an exchange day after another day's: their axis label is the date. */
  private dayOpens = new Set<number>();
  /** Where the view was, in bars from the newest bar to the right edge, and the time axis' width then. */
  private view: { width: number; fromNewest: number } | undefined;

  constructor(
    container: HTMLElement,
    private readonly title: HTMLElement,
    private readonly onError: (message: string) => void,
    private readonly token?: string,
  ) {
    const inZone = (time: Time) => DateTime.fromSeconds(Number(time), { zone: this.zone });
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#0f141b' },
        textColor: '#c9d4e0',
        attributionLogo: false,
        panes: { separatorColor: '#2a3645' },
      },
      grid: { vertLines: { color: '#1b2430' }, horzLines: { color: '#1b2430' } },
      rightPriceScale: { borderColor: '#2a3645' },
      timeScale: {
        borderColor: '#2a3645',
        timeVisible: true,
        secondsVisible: false,
        // The first bar is the left edge: nothing to scroll to before the history, and the library keeps the
        // labels at a fixed edge whole (without it, a tick on the first bar was cut in half: "5:15").
        fixLeftEdge: true,
        tickMarkFormatter: (time: Time) => axisTimeLabel(Number(time), this.zone, this.dayOpens.has(Number(time))),
      },
      localization: { timeFormatter: (time: Time) => inZone(time).toFormat('ccc dd LLL HH:mm ZZZZ') },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
      borderVisible: false,
    });
    this.series.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.08 } });
    // The volume in a pane of its own (index 1), with its own scale: an overlay in the candles' pane put the
    // candles' price labels and grid lines over the volume bars, prices for a histogram that has none.
    this.volume = this.chart.addSeries(
      HistogramSeries,
      { priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false },
      VOLUME_PANE,
    );
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.15, bottom: 0 } });
    // Stretch factors are relative, and the library gives its first pane 2: both set here.
    this.chart.panes()[0]?.setStretchFactor(CANDLE_STRETCH);
    this.chart.panes()[VOLUME_PANE]?.setStretchFactor(VOLUME_STRETCH);
    this.chart.timeScale().subscribeVisibleLogicalRangeChange(() => this.keepViewOnResize());
  }

  /**
   * A resize keeps the view's distance from the newest bar. With the left edge fixed, the library keeps the
   * first bar in place instead when the history fits: narrowing the window pushed the live candle off the
   * right edge, and the chart showed the past.
   */
  private keepViewOnResize(): void {
    const timeScale = this.chart.timeScale();
    const width = timeScale.width();
    const fromNewest = timeScale.scrollPosition();
    const before = this.view;
    if (before && before.width !== width && before.fromNewest !== fromNewest) {
      this.view = { width, fromNewest: before.fromNewest };
      timeScale.scrollToPosition(before.fromNewest, false);
      return;
    }
    this.view = { width, fromNewest };
    // The canvas cannot be read back: say the newest bar in view (epoch ms, as data-history-last).
    const visible = timeScale.getVisibleRange();
    container(this.chart).dataset.visibleLast = visible ? String(Number(visible.to) * 1000) : '';
  }

  get current(): string | undefined {
    return this.symbol;
  }

  /**
   * The shown symbol's name and exchange zone, once the symbol list has them: the first chart opens before
   * the list arrives. The history stays; the time axis is drawn again in the zone.
   */
  describe(symbol: string, zone: string, name?: string): void {
    if (symbol !== this.symbol) return;
    this.title.textContent = chartTitle(symbol, name);
    if (zone === this.zone) return;
    this.zone = zone;
    container(this.chart).dataset.zone = zone;
    this.dayOpens = dayOpenings(
      this.series.data().map((bar) => Number(bar.time)),
      zone,
    );
    this.chart.applyOptions({});
  }

  /** Shows `symbol`: its history, then live updates. Calling it again for the same symbol reloads history. */
  async show(symbol: string, zone: string, name?: string): Promise<void> {
    this.loading?.abort();
    const loading = new AbortController();
    this.loading = loading;
    this.symbol = symbol;
    this.zone = zone;
    this.loaded = false;
    this.last = undefined;
    this.dayOpens = new Set();
    this.lastVolume = undefined;
    this.dayVolume = undefined;
    this.title.textContent = chartTitle(symbol, name);
    container(this.chart).dataset.symbol = symbol;
    container(this.chart).dataset.zone = zone;
    try {
      const res = await fetch(`/api/history?symbol=${encodeURIComponent(symbol)}`, {
        signal: loading.signal,
        headers: authHeaders(this.token),
      });
      const body = (await res.json()) as HistoryResponse;
      if (!body.ok) throw new Error(`${body.error.code}: ${body.error.message}`);
      if (loading.signal.aborted) return;
      const data = body.bars.map((bar) => ({
        time: toTime(bar.time),
        open: bar.open,
        high: bar.high,
        low: bar.low,
        close: bar.close,
      }));
      this.dayOpens = dayOpenings(
        data.map((bar) => bar.time),
        zone,
      );
      this.series.setData(data);
      const volumes = body.bars.map((bar) => ({ time: toTime(bar.time), value: bar.volume, color: volumeColor(bar) }));
      this.volume.setData(volumes);
      this.last = data[data.length - 1];
      this.lastVolume = volumes[volumes.length - 1];
      this.loaded = true;
      container(this.chart).dataset.bars = String(data.length);
      // The history's time range (epoch ms), as the server sent it: tests and tooling read it.
      container(this.chart).dataset.historyFirst = String(body.bars[0]?.time ?? '');
      container(this.chart).dataset.historyLast = String(body.bars.at(-1)?.time ?? '');
      container(this.chart).dataset.volumeBars = String(volumes.filter((v) => v.value > 0).length);
      this.showRecent(data.length);
    } catch (err) {
      if (loading.signal.aborted) return;
      this.onError(`history for ${symbol}: ${err instanceof Error ? err.message : String(err)}`);
      this.series.setData([]);
      this.volume.setData([]);
      this.loaded = true;
    }
  }

  /**
   * Shows the last bars: a trading session's worth at most (390), at least an hour's width, so a replayed day
   * fills the chart up to its position and a few bars keep a candle's width (from the left edge, which is fixed).
   */
  private showRecent(bars: number): void {
    const width = Math.min(SESSION_BARS, Math.max(MIN_VISIBLE_BARS, bars));
    this.chart.timeScale().setVisibleLogicalRange({ from: bars - width - 0.5, to: bars + 1.5 });
  }

  /**
   * Folds the newest quote of the shown symbol into the last candle (or a new one). Not BarSeries
   * (src/ingest/intradayHistory.ts) on purpose: the dashboard sees conflated quotes (latest per frame), so
   * a bar's volume grows by the day's cumulative volume first and a quote's size only without one (summing
   * sizes would lose the skipped quotes'), and a late quote is dropped, never a reset: a jump back reloads
   * the history instead.
   */
  update(quote: Quote | undefined): void {
    if (!quote || quote.symbol !== this.symbol || !this.loaded) return;
    const time = toTime(Math.floor(quote.ts / BAR_MS) * BAR_MS);
    const last = this.last;
    if (last && time < last.time) return; // a late quote for a closed candle
    const bar =
      last && last.time === time
        ? { ...last, high: Math.max(last.high, quote.price), low: Math.min(last.low, quote.price), close: quote.price }
        : { time, open: quote.price, high: quote.price, low: quote.price, close: quote.price };
    if (last && time > last.time && exchangeDate(time, this.zone) !== exchangeDate(last.time, this.zone)) {
      this.dayOpens.add(time);
    }
    this.series.update(bar);
    this.last = bar;
    const traded = this.traded(quote);
    const volume = {
      time,
      value: (this.lastVolume?.time === time ? this.lastVolume.value : 0) + traded,
      color: volumeColor(bar),
    };
    this.volume.update(volume);
    this.lastVolume = volume;
    // The canvas cannot be read back: say what the last candle and volume bar show (tests, tooling).
    container(this.chart).dataset.lastClose = String(bar.close);
    container(this.chart).dataset.lastVolume = String(volume.value);
    container(this.chart).dataset.lastTime = String(time);
  }

  /** What a quote adds to the bar's volume: the growth of the day's volume, else its own size. */
  private traded(quote: Quote): number {
    if (quote.volume === undefined) return quote.size ?? 0;
    const previous = this.dayVolume;
    this.dayVolume = quote.volume;
    return previous === undefined ? 0 : Math.max(0, quote.volume - previous);
  }

  /** Nothing to show (an empty watchlist). */
  clear(): void {
    this.loading?.abort();
    this.symbol = undefined;
    this.last = undefined;
    this.dayOpens = new Set();
    this.lastVolume = undefined;
    this.dayVolume = undefined;
    this.loaded = false;
    this.series.setData([]);
    this.volume.setData([]);
    this.title.textContent = 'Add a symbol to see its chart';
    delete container(this.chart).dataset.symbol;
  }

  dispose(): void {
    this.loading?.abort();
    this.chart.remove();
  }
}

function container(chart: IChartApi): HTMLElement {
  return chart.chartElement().parentElement as HTMLElement;
}

function chartTitle(symbol: string, name: string | undefined): string {
  return name ? `${symbol} · ${name} · 1 min` : `${symbol} · 1 min`;
}
