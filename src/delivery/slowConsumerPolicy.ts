import type { SlowConsumerConfig } from '../config/schema.js';

/** What one check of a socket finds, from its pending bytes and its state. */
export type SlowConsumerVerdict =
  /** Past `maxPendingBytes`: tell it why and drop it. */
  | { action: 'cut' }
  /** Past `throttleBytes`, not throttled yet: move it to the throttled tier. */
  | { action: 'throttle' }
  /** Throttled and calm for `recoverAfterMs`: back to the rates it asked for. */
  | { action: 'restore' }
  /** Throttled and under `recoverBytes`: calm since `since` (now, if it was not before). */
  | { action: 'calm'; since: number }
  /** Throttled and still above `recoverBytes`: its calm, if any, is over. */
  | { action: 'busy' }
  /** Not throttled, under `throttleBytes`. */
  | { action: 'none' };

/**
 * The slow-consumer policy's one decision (SlowConsumerMonitor applies it every `checkEveryMs`): `calmSince` is
 * when the throttled socket's queue last fell under `recoverBytes`, undefined when it has not since it was
 * throttled or was last busy.
 */
export function slowConsumerVerdict(
  config: Pick<SlowConsumerConfig, 'maxPendingBytes' | 'throttleBytes' | 'recoverBytes' | 'recoverAfterMs'>,
  socket: { pendingBytes: number; throttled: boolean; calmSince: number | undefined },
  now: number,
): SlowConsumerVerdict {
  const { pendingBytes: bytes, throttled, calmSince } = socket;
  if (bytes > config.maxPendingBytes) return { action: 'cut' };
  if (!throttled) return bytes > config.throttleBytes ? { action: 'throttle' } : { action: 'none' };
  if (bytes > config.recoverBytes) return { action: 'busy' };
  if (calmSince === undefined) return { action: 'calm', since: now };
  return now - calmSince >= config.recoverAfterMs ? { action: 'restore' } : { action: 'calm', since: calmSince };
}
