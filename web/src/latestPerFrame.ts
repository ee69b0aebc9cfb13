import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Batches a stream per animation frame, keeping only the newest value per key: the screen is written at
 * most once a frame, however fast values arrive. A hidden tab gets no frames, so nothing is written there.
 */
export function latestPerFrame<T>(keyOf: (value: T) => string): OperatorFunction<T, Map<string, T>> {
  return (source) =>
    new Observable<Map<string, T>>((subscriber) => {
      let pending = new Map<string, T>();
      let frame = 0;
      const flush = () => {
        frame = 0;
        const batch = pending;
        pending = new Map();
        subscriber.next(batch);
      };
      const subscription = source.subscribe({
        next: (value) => {
          pending.set(keyOf(value), value);
          if (!frame) frame = requestAnimationFrame(flush);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          if (frame) {
            cancelAnimationFrame(frame);
            flush();
          }
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        if (frame) cancelAnimationFrame(frame);
      };
    });
}
