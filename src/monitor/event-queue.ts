/**
 * Events waiting for the broker. Bounded: while the broker is away for long, the oldest go first
 * (and are counted), so memory stays flat however long the outage; health carries the count.
 */
export class EventQueue<T> {
  private items: T[] = [];
  dropped = 0;

  constructor(private readonly max: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.max) {
      this.items.shift();
      this.dropped++;
    }
  }

  /** Puts back an event whose publish failed, ahead of newer ones (still within the bound). */
  unshift(item: T): void {
    if (this.items.length >= this.max) {
      this.dropped++;
      return;
    }
    this.items.unshift(item);
  }

  shift(): T | undefined {
    return this.items.shift();
  }

  get length(): number {
    return this.items.length;
  }
}
