import type { Consumer } from "../ports/bus.ts";

/** A bus adapter's consumer before it runs; it calls `stopped` once it has stopped. */
interface Startable extends Consumer {
  start(): Promise<void>;
}

/**
 * The consumers a bus has open: each leaves the set when it stops, and the bus's close() stops those left
 * (each finishing its batch in hand and handing its partitions back through onRevoke).
 */
export class OpenConsumers {
  private readonly open = new Set<Consumer>();

  /** Makes a consumer (given the callback it must call once stopped), keeps it and starts it. */
  async start(make: (stopped: () => void) => Startable): Promise<Consumer> {
    const c = make(() => this.open.delete(c));
    this.open.add(c);
    await c.start();
    return c;
  }

  stopAll(): Promise<void> {
    return Promise.all([...this.open].map((c) => c.stop())).then(() => {});
  }
}
