import { createServer } from 'node:net';
import type { Subscription } from 'rxjs';
import { afterEach } from 'vitest';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
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
    owned<T extends { close(): Promise<void> }>(thing: T): T {
      cleanups.push(() => thing.close());
      return thing;
    },
    ownedSubscription(subscription: Subscription): Subscription {
      cleanups.push(() => subscription.unsubscribe());
      return subscription;
    },
  };
}
