import { expect, test } from "bun:test";
import { parsePatrolsCommand, PatrolsUsageError } from "./patrols.ts";

const env = { ACU_OPERATOR_TOKEN: "op-token-0123456789", ACU_HTTP_PORT: "9000" };
const problem = (argv: string[], e: Record<string, string | undefined> = env) => {
  try {
    parsePatrolsCommand(argv, e);
  } catch (x) {
    expect(x).toBeInstanceOf(PatrolsUsageError);
    return (x as Error).message.split("\n")[0];
  }
  throw new Error(`${argv.join(" ")} parsed`);
};

test("acu patrols simulate: defaults from the environment, every flag read", () => {
  expect(parsePatrolsCommand(["simulate"], env)).toEqual({
    target: "http://127.0.0.1:9000", token: env.ACU_OPERATOR_TOKEN, durationMs: 0,
    options: { count: 20, speedKmh: 40, seed: undefined, ignoreRate: 0.1, ackAfterMs: 3000, resolveAfterMs: 20_000, prefix: "sim-" },
  });
  const argv = ["simulate", "--count", "5", "--speed-kmh", "2000", "--target", "http://h:1", "--token", "t", "--seed", "7", "--ignore-rate", "0", "--ack-after-s", "0.5", "--resolve-after-s=2", "--prefix", "demo-", "--duration-s", "30"];
  expect(parsePatrolsCommand(argv, {})).toEqual({
    target: "http://h:1", token: "t", durationMs: 30_000,
    options: { count: 5, speedKmh: 2000, seed: 7, ignoreRate: 0, ackAfterMs: 500, resolveAfterMs: 2000, prefix: "demo-" },
  });
  expect(parsePatrolsCommand(["simulate", "--help"], env)).toBeNull();
  expect(parsePatrolsCommand(["-h"], env)).toBeNull();
});

test("strict: an unknown flag, sub-command or argument, or a bad value, is a usage error naming it", () => {
  expect(problem(["simulate", "--rate", "5"])).toBe('acu patrols: unknown flag "--rate"');
  expect(problem(["simulate", "--count"])).toBe("acu patrols: --count needs a value");
  expect(problem(["simulate", "--help=yes"])).toBe("acu patrols: --help takes no value");
  expect(problem(["simulate", "--speed-kmh", "-1"])).toContain('written --speed-kmh=-…');
  expect(problem([])).toContain("simulate what?");
  expect(problem(["drive"])).toContain('unknown patrols command "drive"');
  expect(problem(["simulate", "now"])).toContain('unexpected argument "now"');
  expect(problem(["simulate", "--count", "0"])).toContain("--count must be a whole number from 1 to 1000");
  expect(problem(["simulate", "--count", "2.5"])).toContain("--count");
  expect(problem(["simulate", "--speed-kmh=-1"])).toContain("--speed-kmh must be a positive number");
  expect(problem(["simulate", "--ignore-rate", "1"])).toContain("--ignore-rate");
  expect(problem(["simulate", "--resolve-after-s", "soon"])).toContain('--resolve-after-s must be a non-negative number of seconds (got "soon")');
  expect(problem(["simulate", "--seed", ""])).toContain("--seed");
  expect(problem(["simulate", "--prefix", "Sim_"])).toContain("--prefix");
  expect(problem(["simulate"], {})).toContain("ACU_OPERATOR_TOKEN");
});
