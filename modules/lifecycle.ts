/** What every role's start function returns: something the entry point can stop on SIGTERM. */
export interface Running {
  readonly name: string;
  /** Stop taking input, finish and commit in-flight work. */
  stop(): Promise<void>;
}

export type { Log } from "../src/log.ts";
