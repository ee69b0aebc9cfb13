import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { decode, encode } from '@msgpack/msgpack';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { classifyRaw, classifySocketIo, type FrameKind, scanDeltas, scanTicks } from './frames.js';

/**
 * One load-generator thread: raw `ws` clients speaking engine.io v4 / socket.io v5 by hand (or the raw
 * server's JSON protocol), so that thousands of sockets cost the generator little. It counts the quotes it
 * receives and the bytes of their frames, and records their age (receive time minus the quote's `ts`), each
 * frame's lag (receive time minus the newest `ts` in the frame) and each socket's subscribe-to-ack time.
 * Probes (`probe` command) are sockets opened one by one while the others stream: the admission case.
 */

export type WorkerPlan = {
  /** Where each socket connects: the n-th socket of a thread to `urls[n % urls.length]` (several gateways). */
  urls: string[];
  protocol: 'socketio' | 'raw';
  parser: 'json' | 'msgpack';
  /** The symbols of each socket this thread opens; empty for idle sockets. */
  sockets: string[][];
  hz: number;
  connectConcurrency: number;
  /** A socket not subscribed within this is given up (a saturated server is measured with what it took). */
  handshakeTimeoutMs: number;
  /** No new socket is opened after this many ms from the start of the open phase. */
  openDeadlineMs: number;
  /** No new socket is opened once this many failed (a step that already failed need not wait for more). */
  giveUpAfterFailures?: number;
  /** Socket.IO's CONNECT payload (what a client passes as `auth`), e.g. `{ deltas: true }` for field deltas. */
  connectAuth?: Record<string, unknown>;
};

/** A probe: a socket opened `atMs` after the probe command, subscribed, timed, then closed. */
export type Probe = { symbols: string[]; atMs: number };

export type WorkerCommand =
  | { type: 'reset' }
  | { type: 'report' }
  | { type: 'close' }
  | { type: 'probe'; probes: Probe[] };

export type WorkerReady = {
  type: 'ready';
  connected: number;
  /** Sockets not open at the end of the open phase, for any reason (of them, the next two). */
  failed: number;
  /** Not subscribed (or, idle, not connected) within `handshakeTimeoutMs`. */
  timedOut: number;
  /** Never opened: past the open deadline, or after `giveUpAfterFailures`. */
  notAttempted: number;
  firstError?: string;
  /** Subscribe sent to its ack, of the open phase's sockets (hdr compressed base64, ms). */
  ack: string;
};

export type WorkerReport = {
  type: 'report';
  received: number;
  /** Of `received`, those older than LATE_MS on arrival. */
  late: number;
  frames: number;
  /** Bytes of the frames that carried quotes (the WebSocket payloads). */
  tickBytes: number;
  /** Subscribed sockets open at the report, times the window since the last reset: the frame demand's base. */
  subscribedSocketSeconds: number;
  /** Histograms in hdr's compressed base64 form, in milliseconds. */
  age: string;
  lag: string;
  /** Probes: subscribe to ack, and opening to subscribed (pending ones with their wait so far). */
  probeAck: string;
  probeAdmission: string;
  probes: { admitted: number; failed: number; pending: number; firstError?: string };
  elu: number;
  loopDelayP99Ms: number;
  open: number;
};

export type WorkerMessage = WorkerReady | WorkerReport | { type: 'closed' };

const plan = workerData as WorkerPlan;
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');

const newHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
let age = newHistogram();
let lag = newHistogram();
const openAck = newHistogram();
let probeAck = newHistogram();
let probeAdmission = newHistogram();
let received = 0;
let frames = 0;
let tickBytes = 0;
let open = 0;
let subscribedOpen = 0;
let windowStart = performance.now();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let eluStart = performance.eventLoopUtilization();
const clients = new Set<WebSocket>();
type ProbeCounts = { admitted: number; failed: number; firstError?: string };
let probes: ProbeCounts = { admitted: 0, failed: 0 };
let probesStarted = 0;
/** Probes opened and neither admitted nor failed yet, by when they started. */
const pendingProbeStarts = new Set<{ startedAt: number }>();
const probeTimers = new Set<NodeJS.Timeout>();

/** An update older than this when it arrives is counted as late, not delivered: a backlog is not throughput. */
const LATE_MS = 1000;
let late = 0;

const recordTs = (now: number) => (ts: number) => {
  const ageMs = Math.max(0, now - ts);
  age.recordValue(ageMs);
  if (ageMs > LATE_MS) late += 1;
};

function onTicksJson(frame: Buffer, client?: Client): void {
  const now = Date.now();
  const scan = client ? scanDeltas(frame, client.deltaTimes, recordTs(now)) : scanTicks(frame, 0, recordTs(now));
  if (scan.count === 0) return;
  received += scan.count;
  frames += 1;
  tickBytes += frame.length;
  lag.recordValue(Math.max(0, now - scan.newestTs));
}

/** The times of decoded deltas: `T` absolute, `t` after the symbol's previous update (kept in `times`). */
function deltaTimesOf(deltas: { s: string; T?: number; t?: number }[], times: Map<string, number>): { ts: number }[] {
  const out: { ts: number }[] = [];
  for (const d of deltas) {
    const base = times.get(d.s);
    const ts = d.T ?? (base !== undefined && d.t !== undefined ? base + d.t : undefined);
    if (ts === undefined) continue;
    times.set(d.s, ts);
    out.push({ ts });
  }
  return out;
}

type MsgpackPacket = { type: number; data?: unknown; id?: number; nsp: string };

/** One socket of the generator: a measured one (`load`) or an admission probe. */
type Client = {
  ws: WebSocket;
  symbols: string[];
  role: 'load' | 'probe';
  openedAt: number;
  subscribeSentAt: number;
  /** Field deltas: each symbol's last update time, which the next relative `t` adds to. */
  deltaTimes: Map<string, number>;
};

const SUBSCRIBE_ACK_ID = 0;

function sendSubscribe(client: Client): void {
  client.subscribeSentAt = performance.now();
  const request = { symbols: client.symbols, maxHz: plan.hz };
  if (plan.protocol === 'raw') client.ws.send(JSON.stringify({ subscribe: client.symbols }));
  else if (plan.parser === 'msgpack')
    client.ws.send(encode({ type: 2, data: ['subscribe', request], nsp: '/', id: SUBSCRIBE_ACK_ID }));
  else client.ws.send(`42${SUBSCRIBE_ACK_ID}${JSON.stringify(['subscribe', request])}`);
}

function sendConnect(ws: WebSocket): void {
  // Without a payload, no `data` key at all (msgpack would encode an undefined one as nil).
  if (plan.parser === 'msgpack')
    ws.send(encode(plan.connectAuth ? { type: 0, nsp: '/', data: plan.connectAuth } : { type: 0, nsp: '/' }));
  else ws.send(plan.connectAuth ? `40${JSON.stringify(plan.connectAuth)}` : '40');
}

function onMsgpack(frame: Buffer, client: Client, done: (ok: boolean, error?: string) => void): void {
  const packet = decode(frame) as MsgpackPacket;
  if (packet.type === 0) {
    if (client.symbols.length) sendSubscribe(client);
    else done(true);
    return;
  }
  if (packet.type === 3) {
    const ack = (packet.data as { ok?: boolean }[])[0];
    done(ack?.ok === true, ack?.ok ? undefined : JSON.stringify(ack));
    return;
  }
  if (packet.type !== 2 || client.role === 'probe') return;
  const [event, payload] = packet.data as [string, unknown];
  if (event !== 'ticks' && event !== 'tick' && event !== 'deltas') return;
  const quotes =
    event === 'deltas'
      ? deltaTimesOf(payload as { s: string; T?: number; t?: number }[], client.deltaTimes)
      : ((Array.isArray(payload) ? payload : [payload]) as { ts: number }[]);
  const now = Date.now();
  let newest = 0;
  const record = recordTs(now);
  for (const q of quotes) {
    record(q.ts);
    if (q.ts > newest) newest = q.ts;
  }
  received += quotes.length;
  frames += 1;
  tickBytes += frame.length;
  lag.recordValue(Math.max(0, now - newest));
}

class HandshakeTimeout extends Error {}

/** Opens one client and resolves once it is subscribed (or merely connected, when idle). */
function openClient(symbols: string[], base: string, role: Client['role']): Promise<Client> {
  return new Promise((resolve, reject) => {
    const url = plan.protocol === 'socketio' ? `${base}/socket.io/?EIO=4&transport=websocket` : `${base}/raw`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client: Client = {
      ws,
      symbols,
      role,
      openedAt: performance.now(),
      subscribeSentAt: Number.NaN,
      deltaTimes: new Map(),
    };
    clients.add(ws);
    let settled = false;
    /** Counted in `open` (and, with symbols, in `subscribedOpen`): a socket that failed never was. */
    let counted = false;
    const timeout = setTimeout(() => {
      done(false, new HandshakeTimeout(`not subscribed within ${plan.handshakeTimeoutMs} ms`));
      ws.terminate();
    }, plan.handshakeTimeoutMs);
    const done = (ok: boolean, error?: string | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      if (!ok) {
        reject(error instanceof Error ? error : new Error(error ?? 'refused'));
        return;
      }
      if (role === 'load') {
        counted = true;
        open += 1;
        if (symbols.length) {
          subscribedOpen += 1;
          openAck.recordValue(Math.round(performance.now() - client.subscribeSentAt));
        }
      }
      resolve(client);
    };
    const subscribeOrIdle = () => (symbols.length ? sendSubscribe(client) : done(true));
    ws.on('error', (err) => done(false, err.message));
    ws.on('close', () => {
      clients.delete(ws);
      if (counted) {
        open -= 1;
        if (symbols.length) subscribedOpen -= 1;
      }
      done(false, 'closed during handshake');
    });
    ws.on('open', () => {
      if (plan.protocol === 'raw') subscribeOrIdle();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        if (!settled && !symbols.length && (decode(data) as MsgpackPacket).type === 0) return done(true);
        return onMsgpack(data, client, done);
      }
      const frame: FrameKind = plan.protocol === 'raw' ? classifyRaw(data) : classifySocketIo(data);
      switch (frame.kind) {
        case 'ticks':
          return role === 'load' ? onTicksJson(data) : undefined;
        case 'deltas':
          return role === 'load' ? onTicksJson(data, client) : undefined;
        case 'ping':
          return ws.send('3');
        case 'open':
          return sendConnect(ws);
        case 'connected':
          return subscribeOrIdle();
        case 'ack':
          return done(frame.ok, frame.ok ? undefined : String(data).slice(0, 200));
        default:
          return;
      }
    });
  });
}

async function openAll(): Promise<void> {
  let next = 0;
  let failed = 0;
  let timedOut = 0;
  let notAttempted = 0;
  let firstError: string | undefined;
  const deadline = Date.now() + plan.openDeadlineMs;
  const stopOpening = (reason: string) => {
    notAttempted += plan.sockets.length - next;
    failed += plan.sockets.length - next;
    firstError ??= reason;
    next = plan.sockets.length;
  };
  const lane = async () => {
    while (next < plan.sockets.length) {
      if (Date.now() > deadline) {
        stopOpening(`open phase past its ${plan.openDeadlineMs} ms deadline`);
        break;
      }
      if (plan.giveUpAfterFailures !== undefined && failed >= plan.giveUpAfterFailures) {
        stopOpening(`stopped opening after ${failed} failed`);
        break;
      }
      const index = next++;
      const symbols = plan.sockets[index] as string[];
      try {
        await openClient(symbols, plan.urls[index % plan.urls.length] as string, 'load');
      } catch (err) {
        failed += 1;
        if (err instanceof HandshakeTimeout) timedOut += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.connectConcurrency }, lane));
  port?.postMessage({
    type: 'ready',
    connected: open,
    failed,
    timedOut,
    notAttempted,
    firstError,
    ack: hdr.encodeIntoCompressedBase64(openAck),
  } satisfies WorkerMessage);
}

/** Opens each probe at its time, whatever the earlier ones are doing (a saturated server piles them up). */
function startProbes(list: Probe[]): void {
  for (const probe of list) {
    const timer = setTimeout(() => {
      probeTimers.delete(timer);
      void runProbe(probe.symbols);
    }, probe.atMs);
    probeTimers.add(timer);
  }
}

async function runProbe(symbols: string[]): Promise<void> {
  const pending = { startedAt: performance.now() };
  pendingProbeStarts.add(pending);
  try {
    const client = await openClient(symbols, plan.urls[probesStarted++ % plan.urls.length] as string, 'probe');
    probeAdmission.recordValue(Math.round(performance.now() - pending.startedAt));
    probeAck.recordValue(Math.round(performance.now() - client.subscribeSentAt));
    probes.admitted += 1;
    client.ws.close();
  } catch (err) {
    probes.failed += 1;
    probes.firstError ??= (err as Error).message;
  } finally {
    pendingProbeStarts.delete(pending);
  }
}

port.on('message', (command: WorkerCommand) => {
  if (command.type === 'reset') {
    age = newHistogram();
    lag = newHistogram();
    probeAck = newHistogram();
    probeAdmission = newHistogram();
    probes = { admitted: 0, failed: 0 };
    received = 0;
    late = 0;
    frames = 0;
    tickBytes = 0;
    windowStart = performance.now();
    loopDelay.reset();
    eluStart = performance.eventLoopUtilization();
  } else if (command.type === 'probe') {
    startProbes(command.probes);
  } else if (command.type === 'report') {
    const now = performance.now();
    // A probe still waiting has waited at least this long: counted, so a stalled admission shows.
    const admission = newHistogram();
    admission.add(probeAdmission);
    for (const pending of pendingProbeStarts) admission.recordValue(Math.round(now - pending.startedAt));
    port.postMessage({
      type: 'report',
      received,
      late,
      frames,
      tickBytes,
      subscribedSocketSeconds: (subscribedOpen * (now - windowStart)) / 1000,
      age: hdr.encodeIntoCompressedBase64(age),
      lag: hdr.encodeIntoCompressedBase64(lag),
      probeAck: hdr.encodeIntoCompressedBase64(probeAck),
      probeAdmission: hdr.encodeIntoCompressedBase64(admission),
      probes: { ...probes, pending: pendingProbeStarts.size },
      elu: performance.eventLoopUtilization(eluStart).utilization,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      open,
    } satisfies WorkerMessage);
  } else if (command.type === 'close') {
    for (const timer of probeTimers) clearTimeout(timer);
    for (const ws of clients) ws.terminate();
    loopDelay.disable();
    port.postMessage({ type: 'closed' } satisfies WorkerMessage);
    port.close();
  }
});

void openAll();
