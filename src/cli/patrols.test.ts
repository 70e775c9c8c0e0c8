import { expect, test } from "bun:test";
import { parseCommandLine, UsageError } from "./commands.ts";
import { parsePatrolsCommand } from "./patrols.ts";

const env = { ACU_OPERATOR_TOKEN: "op-token-0123456789", ACU_HTTP_PORT: "9000" };
const parse = (argv: string[], e: Record<string, string | undefined> = env) => parsePatrolsCommand(parseCommandLine(["patrols", ...argv]), e);
const problem = (argv: string[], e: Record<string, string | undefined> = env) => {
  try {
    parse(argv, e);
  } catch (x) {
    expect(x).toBeInstanceOf(UsageError);
    expect((x as UsageError).usage).toStartWith("usage: acu patrols simulate");
    return (x as UsageError).headline;
  }
  throw new Error(`${argv.join(" ")} parsed`);
};

test("acu patrols simulate: defaults from the environment, every flag read", () => {
  expect(parse(["simulate"])).toEqual({
    target: "http://127.0.0.1:9000",
    token: env.ACU_OPERATOR_TOKEN,
    durationMs: 0,
    options: { count: 20, speedKmh: 40, seed: undefined, ignoreRate: 0.1, ackAfterMs: 3000, resolveAfterMs: 20_000, prefix: "sim-" },
  });
  const argv = [
    "simulate",
    "--count",
    "5",
    "--speed-kmh",
    "2000",
    "--target",
    "http://h:1",
    "--token",
    "t",
    "--seed",
    "7",
    "--ignore-rate",
    "0",
    "--ack-after-s",
    "0.5",
    "--resolve-after-s=2",
    "--prefix",
    "demo-",
    "--duration-s",
    "30",
  ];
  expect(parse(argv, {})).toEqual({
    target: "http://h:1",
    token: "t",
    durationMs: 30_000,
    options: { count: 5, speedKmh: 2000, seed: 7, ignoreRate: 0, ackAfterMs: 500, resolveAfterMs: 2000, prefix: "demo-" },
  });
  expect(parseCommandLine(["patrols", "simulate", "--help"]).help).toBe(true);
});

test("strict: an unknown flag, sub-command or argument, or a bad value, is a usage error naming it", () => {
  expect(problem(["simulate", "--rate", "5"])).toBe('acu patrols: unknown flag "--rate"');
  expect(problem(["simulate", "--cont", "5"])).toBe('acu patrols: unknown flag "--cont"; did you mean --count?');
  expect(problem(["simulate", "--count"])).toBe("acu patrols: --count needs a value");
  expect(problem(["simulate", "--data-dir", "x"])).toBe('acu patrols: unknown flag "--data-dir"');
  expect(problem([])).toBe("acu patrols: simulate what? the only sub-command is simulate");
  expect(problem(["drive"])).toBe('acu patrols: unknown patrols command "drive"; the only one is simulate');
  expect(problem(["simulate", "now"])).toBe('acu patrols: unexpected argument "now"');
  expect(problem(["simulate", "--count", "0"])).toContain("--count must be a whole number from 1 to 1000");
  expect(problem(["simulate", "--count", "2.5"])).toContain("--count");
  expect(problem(["simulate", "--speed-kmh=-1"])).toContain("--speed-kmh must be a positive number");
  expect(problem(["simulate", "--ignore-rate", "1"])).toContain("--ignore-rate");
  expect(problem(["simulate", "--resolve-after-s", "soon"])).toBe('acu patrols: --resolve-after-s must be a non-negative number of seconds (got "soon")');
  expect(problem(["simulate", "--seed", ""])).toContain("--seed");
  expect(problem(["simulate", "--prefix", "Sim_"])).toContain("--prefix");
  expect(problem(["simulate"], {})).toContain("ACU_OPERATOR_TOKEN");
});
