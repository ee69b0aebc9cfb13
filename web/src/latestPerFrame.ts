import {
  animationFrameScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';

/**
 * Batches a stream per animation frame, keeping only the newest value per key: the screen is written at
 * most once a frame, however fast values arrive. A hidden tab gets no frames, so nothing is written there.
 */
export function latestPerFrame<T>(
  keyOf: (value: T) => string,
  scheduler: SchedulerLike = animationFrameScheduler,
): OperatorFunction<T, Map<string, T>> {
  return (source) =>
    new Observable<Map<string, T>>((subscriber) => {
      let pending = new Map<string, T>();
      let frame: Subscription | undefined;
      const flush = () => {
        frame = undefined;
        const batch = pending;
        pending = new Map();
        subscriber.next(batch);
      };
      const subscription = source.subscribe({
        next: (value) => {
          pending.set(keyOf(value), value);
          frame ??= scheduler.schedule(flush);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          // The last values still go out, now rather than a frame later.
          if (frame) {
            frame.unsubscribe();
            flush();
          }
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        frame?.unsubscribe();
      };
    });
}
