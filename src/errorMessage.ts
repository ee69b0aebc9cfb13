/** What a caught value says: an Error's message, or the value itself as text (a throw need not be an Error). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
