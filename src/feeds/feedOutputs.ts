import { filter, map, type OperatorFunction } from 'rxjs';

/** What a feed with more to tell than quotes emits: its quotes, and other kinds beside them. */
type Output = { kind: string };
type QuoteOutput = { kind: 'quote'; value: unknown };

/** A feed's quotes alone, out of its outputs (sseFeedOutputs, wsFeedOutputs). */
export function quoteValues<O extends Output>(): OperatorFunction<O | QuoteOutput, unknown> {
  return (outputs$) =>
    outputs$.pipe(
      filter((output): output is QuoteOutput => output.kind === 'quote'),
      map((output) => output.value),
    );
}
