/**
 * Collects the symbol-tier updates that fall due in the same event-loop turn and hands them over once, at
 * the end of the turn (setImmediate runs after every timer of the turn), so that delivery can write one
 * frame per socket instead of one per update. Conflation stays where it is (throttleTime per symbol and
 * tier): this only groups what is already due, adding no more than the rest of the current turn.
 *
 * Throttle windows that end in the same turn restart together, so their symbols stay grouped afterwards:
 * the busier the server (the longer a turn), the larger the groups.
 */
export class TurnBatcher<T> {
  private pending = new Map<string, T>();
  private scheduled?: NodeJS.Immediate;

  constructor(
    private readonly flush: (batch: T[]) => void,
    private readonly schedule: (run: () => void) => NodeJS.Immediate = setImmediate,
  ) {}

  /** Queues `value` under `key` (a newer value for the same key replaces the older one). */
  add(key: string, value: T): void {
    this.pending.set(key, value);
    this.scheduled ??= this.schedule(() => this.run());
  }

  /** Drops what is pending and the scheduled flush. */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.pending.clear();
  }

  private run(): void {
    this.scheduled = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    if (batch.length > 0) this.flush(batch);
  }
}
