/**
 * A small hand-written SVG line chart: panels side by side sharing one x axis quantity (sockets), a
 * logarithmic y axis each (lag and CPU per update span orders of magnitude between servers), one polyline
 * per series per panel, and one legend. No chart library: the benchmark writes it next to its JSON.
 */

/** `hollow`: drawn as a ring (the benchmark: a step that does not hold the load). */
export type ChartPoint = { x: number; y: number; hollow?: boolean };
export type ChartSeries = { label: string; color: string; dashed: boolean; points: ChartPoint[] };
export type ChartPanel = {
  title: string;
  /** A horizontal line to read the series against (the 100 ms lag bound). */
  threshold?: { y: number; label: string };
  /** Each series' points in this panel, in the order of `Chart.series`. */
  points: ChartPoint[][];
};
export type Chart = {
  title: string;
  subtitle: string;
  xLabel: string;
  series: Omit<ChartSeries, 'points'>[];
  panels: ChartPanel[];
  /** A line under the legend, e.g. what a hollow point means. */
  footnote?: string;
};

const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 60, right: 20, top: 70, bottom: 50 };
const LEGEND_ROW = 18;
const LEGEND_COLUMNS = 3;
const LEGEND_COLUMN_WIDTH = 220;

export function renderChart(chart: Chart): string {
  const width = chart.panels.length * (MARGIN.left + PANEL_WIDTH + MARGIN.right);
  const legendTop = MARGIN.top + PANEL_HEIGHT + MARGIN.bottom;
  const legendRows = Math.ceil(chart.series.length / LEGEND_COLUMNS);
  const height = legendTop + (legendRows + (chart.footnote ? 1 : 0)) * LEGEND_ROW + 10;
  const allX = chart.panels.flatMap((panel) => panel.points.flat().map((p) => p.x));
  // Sockets are whole: an empty chart still gets a round axis.
  const dataMax = allX.length ? Math.max(5, ...allX) : 1000;
  const xStep = xTickStep(dataMax);
  const xMax = xStep * Math.ceil(dataMax / xStep);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`${chart.title} (${chart.subtitle})`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<text x="${MARGIN.left}" y="40" fill="#555555">${escapeXml(chart.subtitle)}</text>`,
  ];
  chart.panels.forEach((panel, index) => {
    const left = index * (MARGIN.left + PANEL_WIDTH + MARGIN.right) + MARGIN.left;
    parts.push(renderPanel(panel, chart, left, { max: xMax, step: xStep }));
  });
  chart.series.forEach((series, index) => {
    const x = MARGIN.left + (index % LEGEND_COLUMNS) * LEGEND_COLUMN_WIDTH;
    const y = legendTop + Math.floor(index / LEGEND_COLUMNS) * LEGEND_ROW;
    parts.push(
      `<line x1="${x}" y1="${y}" x2="${x + 30}" y2="${y}" stroke="${series.color}" stroke-width="2"${dash(series.dashed)}/>`,
      `<text x="${x + 38}" y="${y + 4}">${escapeXml(series.label)}</text>`,
    );
  });
  if (chart.footnote)
    parts.push(
      `<text x="${MARGIN.left}" y="${legendTop + legendRows * LEGEND_ROW + 4}" fill="#555555">${escapeXml(chart.footnote)}</text>`,
    );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function renderPanel(panel: ChartPanel, chart: Chart, left: number, xAxis: { max: number; step: number }): string {
  const top = MARGIN.top;
  const xMax = xAxis.max;
  const ys = panel.points
    .flat()
    .map((p) => p.y)
    .concat(panel.threshold ? [panel.threshold.y] : [])
    .filter(isPlottable);
  const yMin = 10 ** Math.floor(Math.log10(ys.length ? Math.min(...ys) : 1));
  const yMax = 10 ** Math.max(Math.ceil(Math.log10(ys.length ? Math.max(...ys) : 1000)), Math.log10(yMin) + 1);
  const px = (x: number) => left + (x / xMax) * PANEL_WIDTH;
  const py = (y: number) =>
    top + PANEL_HEIGHT - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * PANEL_HEIGHT;
  const out = [
    `<g>`,
    `<text x="${left}" y="${top - 12}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${left}" y="${top}" width="${PANEL_WIDTH}" height="${PANEL_HEIGHT}" fill="none" stroke="#999999"/>`,
  ];
  for (const x of linearTicks(xMax, xAxis.step)) {
    out.push(
      `<line x1="${fixed(px(x))}" y1="${top}" x2="${fixed(px(x))}" y2="${top + PANEL_HEIGHT}" stroke="#eeeeee"/>`,
      `<text x="${fixed(px(x))}" y="${top + PANEL_HEIGHT + 16}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`,
    );
  }
  for (const y of logTicks(yMin, yMax)) {
    out.push(
      `<line x1="${left}" y1="${fixed(py(y))}" x2="${left + PANEL_WIDTH}" y2="${fixed(py(y))}" stroke="#eeeeee"/>`,
      `<text x="${left - 6}" y="${fixed(py(y) + 4)}" text-anchor="end">${y.toLocaleString('en-US')}</text>`,
    );
  }
  out.push(
    `<text x="${left + PANEL_WIDTH / 2}" y="${top + PANEL_HEIGHT + 36}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
  );
  if (panel.threshold) {
    const y = fixed(py(panel.threshold.y));
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + PANEL_WIDTH}" y2="${y}" stroke="#000000" stroke-dasharray="2 3"/>`,
      `<text x="${left + PANEL_WIDTH - 4}" y="${y}" dy="-4" text-anchor="end">${escapeXml(panel.threshold.label)}</text>`,
    );
  }
  chart.series.forEach((series, index) => {
    const points = (panel.points[index] ?? []).filter((p) => isPlottable(p.y)).sort((a, b) => a.x - b.x);
    const coordinates = points.map((p) => ({ x: fixed(px(p.x)), y: fixed(py(p.y)), hollow: p.hollow === true }));
    out.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="2"${dash(series.dashed)} points="${coordinates.map((c) => `${c.x},${c.y}`).join(' ')}"><title>${escapeXml(series.label)}</title></polyline>`,
    );
    for (const c of coordinates)
      out.push(
        `<circle cx="${c.x}" cy="${c.y}" r="3.5" fill="${c.hollow ? '#ffffff' : series.color}" stroke="${series.color}" stroke-width="1.5"/>`,
      );
  });
  out.push('</g>');
  return out.join('\n');
}

/** Text for an XML text node or attribute. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

const isPlottable = (y: number) => Number.isFinite(y) && y > 0;
const fixed = (n: number) => n.toFixed(1);
const dash = (dashed: boolean) => (dashed ? ' stroke-dasharray="6 4"' : '');

/** The smallest 1, 2 or 5 times a power of ten at or above `n`. */
function niceCeiling(n: number): number {
  const power = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 5, 10].find((m) => m * power >= n) ?? 10) * power;
}

/** A round step for about five ticks up to `max`. */
const xTickStep = (max: number) => niceCeiling(max / 5);

function linearTicks(max: number, step: number): number[] {
  return Array.from({ length: Math.floor(max / step + 1e-9) + 1 }, (_, i) => i * step);
}

/** 1, 2 and 5 times each power of ten from `min` to `max`. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let power = min; power <= max; power *= 10)
    for (const m of [1, 2, 5]) if (m * power <= max) ticks.push(m * power);
  return ticks;
}
