import { createServer } from 'node:net';
import type { Subscription } from 'rxjs';
import { afterEach } from 'vitest';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `intervalMs` (20) until it holds; fails naming `what` after `timeoutMs`. `what` may be a
 * function, called only on failure, to say what was seen instead (e.g. `() => `5 ticks, got ${n}``).
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what: string | (() => string) = 'condition',
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until `get` returns a value other than undefined, and returns it; fails naming `what` after `timeoutMs`
 * (never returns undefined: a helper that gives up silently lets the next assertion fail for the wrong reason).
 */
export async function untilDefined<T>(
  get: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  what: string | (() => string) = 'a value',
  intervalMs = 20,
): Promise<T> {
  let value: T | undefined;
  await until(
    async () => {
      value = await get();
      return value !== undefined;
    },
    timeoutMs,
    what,
    intervalMs,
  );
  return value as T;
}

/**
 * `promise`'s value, or a loud failure naming `what` if it has not settled after `ms` (a process that should
 * end by itself, say: vitest's own timeout would say only that the test took too long).
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A window of `ms` in which something must NOT happen (no tick while paused, no reconnect while backing off):
 * an absence cannot be waited for, only watched for a bounded time. Fails as soon as `happened` (if given)
 * holds, naming `what`. Prefer a positive sync point where there is one: wait for a later event that proves
 * the unwanted one would already have arrived. Callers say why the window is long enough.
 */
export async function quietFor(ms: number, what: string, happened?: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (happened?.()) throw new Error(`${what} happened within the ${ms} ms it had to stay quiet`);
    const left = deadline - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(20, left));
  }
}

/**
 * A measuring window of `ms`: the test counts or samples what happens during it (a rate, a latency, memory
 * under a steady load), so its length is the measurement, not a guess at how long something takes.
 * `what` says what is measured (it documents the call; nothing waits on it).
 */
export async function observeFor(ms: number, _what: string): Promise<void> {
  await sleep(ms);
}

/** A port on 127.0.0.1 that was free a moment ago: nothing listens there (a connection to it is refused). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Things a test opens, closed after each test in reverse order. Call once at the top of a test file:
 * `const { owned, ownedSubscription } = ownedPerTest();`
 */
export function ownedPerTest() {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    owned<T extends { close(): unknown }>(thing: T): T {
      cleanups.push(() => thing.close());
      return thing;
    },
    ownedSubscription(subscription: Subscription): Subscription {
      cleanups.push(() => subscription.unsubscribe());
      return subscription;
    },
  };
}
