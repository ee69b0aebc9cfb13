/**
 * Collects the values that fall due in one event-loop turn and hands them over once, at the end of the turn
 * (setImmediate runs after every timer of the turn). Delivery uses it for prompt quotes (a quiet symbol's
 * update, docs/PROTOCOL.md): those that arrive in the same turn share one frame per socket instead of one
 * each, adding no more than the rest of the current turn. Steady updates wait for their lane's clock instead.
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
