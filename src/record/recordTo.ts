import { finalize, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs';
import type { Quote } from '../protocol.js';
import type { RecordingWriter } from './writer.js';

/** Writes every quote that passes to `writer` (stamped with when it arrived), closing it on teardown. */
export function recordTo<T extends Quote>(
  writer: Pick<RecordingWriter, 'write' | 'close'>,
  now: () => number = Date.now,
): MonoTypeOperatorFunction<T> {
  return (source: Observable<T>) =>
    source.pipe(
      tap((quote) => writer.write(quote, now())),
      finalize(() => writer.close()),
    );
}
