import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tickstream } from '../../src/roles/serve.js';
import { startTestService } from '../helpers/service.js';
import { assertServes, fuzzClientEvents, fuzzEdgePayloads, fuzzRawFrames } from './properties.js';

let service: Tickstream;
const MAX_BYTES = 65_536;

beforeAll(async () => {
  // The request rate limit is tested elsewhere: here it would turn every answer into RATE_LIMITED.
  service = await startTestService({
    server: { host: '127.0.0.1', port: 0, dashboard: false, maxHttpBufferSize: MAX_BYTES },
    limits: { requestsPerSecond: 1_000_000, requestBurst: 1_000_000 },
  });
});
afterAll(async () => {
  await service.close();
});

describe('fuzzing client events over a real socket', () => {
  it('answers 8000 arbitrary requests with well-formed acks and keeps the connection', async () => {
    await fuzzClientEvents(service.url, { numRuns: 8000 });
    await assertServes(service.url);
    // Not vacuous: thousands of requests reached the handlers and were answered.
    const answered = (await service.metrics.requests.get()).values
      .filter((v) => v.labels.outcome === 'ok' || v.labels.outcome === 'error')
      .reduce((sum, v) => sum + v.value, 0);
    expect(answered).toBeGreaterThan(2500);
  }, 120_000);

  it('survives huge strings, deep nesting and prototype keys, without pollution', async () => {
    await fuzzEdgePayloads(service.url, MAX_BYTES);
    await assertServes(service.url);
  });

  it('survives 2000 raw, mostly broken Engine.IO frames: a bad frame closes its own connection only', async () => {
    const { answered, closed } = await fuzzRawFrames(service.url, { numRuns: 2000 });
    // Not vacuous: many frames broke their connection, many others left it serving.
    expect(closed).toBeGreaterThan(100);
    expect(answered).toBeGreaterThan(100);
    await assertServes(service.url);
    const requests = (await service.metrics.requests.get()).values;
    expect(requests.find((v) => v.labels.outcome === 'internal')).toBeUndefined();
  }, 120_000);
});
