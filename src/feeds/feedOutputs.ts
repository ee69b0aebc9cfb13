import { catchError, EMPTY, filter, map, type OperatorFunction } from 'rxjs';

/** What a feed with more to tell than quotes emits (sseFeedOutputs, wsFeedOutputs): quotes and other kinds. */
type Output = { kind: string };
type QuoteOutput = { kind: 'quote'; value: unknown };

/** A feed's quotes alone, out of its outputs. */
export function quoteValues(): OperatorFunction<Output, unknown> {
  return (outputs$) =>
    outputs$.pipe(
      filter((output): output is QuoteOutput => output.kind === 'quote'),
      map((output) => output.value),
    );
}

/**
 * A feed's signs of life, out of its outputs (FeedSource.alive$). The connection's failures are for its quotes
 * to report, so here they end the signs quietly.
 */
export function aliveSignals(): OperatorFunction<Output, Output> {
  return (outputs$) =>
    outputs$.pipe(
      filter((output) => output.kind === 'alive'),
      catchError(() => EMPTY),
    );
}
