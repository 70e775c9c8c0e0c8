import { metrics } from "../src/metrics.ts";
import type { Consumer } from "../src/ports/bus.ts";

/** How often a role's consumer lag is read into the `acu_consumer_lag` gauge. */
export const LAG_INTERVAL_MS = 2000;

/**
 * Keeps `acu_consumer_lag{group}` up to date with the consumer's lag, read every `everyMs`. A failed read
 * (the engine away) leaves the last value. Returns the function that stops it.
 */
export function reportLag(consumer: Pick<Consumer, "lag">, group: string, everyMs = LAG_INTERVAL_MS): () => void {
  const timer = setInterval(() => {
    consumer.lag().then(
      (lag) => metrics.consumerLag.set({ group }, lag),
      () => {},
    );
  }, everyMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
