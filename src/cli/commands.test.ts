import { expect, test } from "bun:test";
import { parseCommandLine, UsageError } from "./commands.ts";
import { parseTokenCommand } from "./token.ts";
import { signalOptions } from "./signal.ts";

const usageError = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return { headline: e.headline, usage: e.usage };
    throw e;
  }
  throw new Error(`${argv.join(" ")} parsed`);
};

test("an unknown flag, command or argument is a usage error naming it, with the usage line", () => {
  expect(usageError(["--no-such-flag"])).toEqual({ headline: 'acu: unknown flag "--no-such-flag"', usage: expect.stringMatching(/^usage: acu \[--role=/) });
  expect(usageError(["-V"]).headline).toBe('acu: unknown flag "-V"');
  expect(usageError(["frobnicate"])).toEqual({
    headline: 'acu: unknown command "frobnicate"',
    usage: expect.stringContaining("signal|analyze|export|config|token"),
  });
  expect(usageError(["confg"]).headline).toBe('acu: unknown command "confg"; did you mean config?');
  expect(usageError(["--prot", "9000"]).headline).toBe('acu: unknown flag "--prot"; did you mean --port?');
  expect(usageError(["--port"]).headline).toBe("acu: --port needs a value");
  expect(usageError(["--port", "9000", "config"]).headline).toBe('acu: unexpected argument "config"');
});

test("each command parses its own flags strictly", () => {
  expect(usageError(["token", "list", "--rate", "5"])).toEqual({
    headline: 'acu token: unknown flag "--rate"',
    usage: expect.stringMatching(/^usage: acu token create/),
  });
  expect(usageError(["signal", "--data-dir", "x"]).headline).toBe('acu signal: unknown flag "--data-dir"');
  expect(usageError(["signal", "extra"]).headline).toBe('acu signal: unexpected argument "extra"');
  expect(usageError(["analyze", "--rebuild=yes"]).headline).toBe("acu analyze: --rebuild takes no value");
  expect(usageError(["analyze", "now"]).headline).toBe('acu analyze: unexpected argument "now"');
  expect(usageError(["config", "--jsn"]).headline).toBe('acu config: unknown flag "--jsn"; did you mean --json?');
  expect(usageError(["token", "revoke", "a", "b"]).headline).toBe('acu token: unexpected argument "b"');
});

test("what parses: configuration flags for the commands that read it, each command's own, help and version", () => {
  const run = parseCommandLine(["--role=alert,sink", "--port", "9000", "--ops-port", "9100", "--log-format", "text"]);
  expect([run.command.name, run.flags]).toEqual(["run", { role: "alert,sink", port: "9000", "ops-port": "9100", "log-format": "text" }]);
  const token = parseCommandLine(["token", "create", "--scope", "viewer", "--data-dir", "/tmp/d"]);
  expect([token.command.name, token.positionals, token.flags]).toEqual(["token", ["create"], { scope: "viewer", "data-dir": "/tmp/d" }]);
  expect(parseCommandLine(["analyze", "--rebuild"]).flags).toEqual({ rebuild: true });
  expect(parseCommandLine(["config", "--json"]).flags).toEqual({ json: true });
  expect(parseCommandLine(["--help"]).help).toBe(true);
  expect(parseCommandLine(["token", "-h"]).help).toBe(true);
  expect(parseCommandLine(["help"]).help).toBe(true);
  expect(parseCommandLine(["--version"]).version).toBe(true);
  expect(usageError(["token", "--version"]).headline).toBe('acu token: unknown flag "--version"');
});

test("acu token: the action and its flags are checked before the store is opened", () => {
  const token = (...a: string[]) => parseTokenCommand(parseCommandLine(["token", ...a]));
  expect(token("create", "--scope", "operator", "--label", "wall")).toEqual({ action: "create", scope: "operator", label: "wall" });
  expect(token("list")).toEqual({ action: "list" });
  expect(token("revoke", "tok_abc")).toEqual({ action: "revoke", id: "tok_abc" });
  expect(() => token()).toThrow("create, list or revoke?");
  expect(() => token("delete")).toThrow('unknown token command "delete"');
  expect(() => token("create", "--scope", "root")).toThrow('--scope must be one of ingest, operator, viewer (got "root")');
  expect(() => token("create")).toThrow("--scope must be one of ingest, operator, viewer");
  expect(() => token("list", "--scope", "viewer")).toThrow("list takes no --scope or --label");
  expect(() => token("revoke")).toThrow("needs a token id");
  expect(() => token("revoke", "not an id")).toThrow('"not an id" is not one');
});

test("acu signal: numbers checked, target and token from the environment by default", () => {
  const opts = (argv: string[], env = {}) => signalOptions(parseCommandLine(["signal", ...argv]), env);
  expect(opts([], { ACU_HTTP_PORT: "9001", ACU_INGEST_TOKEN: "t".repeat(16) })).toMatchObject({
    target: "http://127.0.0.1:9001",
    rate: 1000,
    count: 0,
    batchSize: 500,
    token: "t".repeat(16),
  });
  expect(opts(["--rate", "10", "--count", "5", "--target", "http://h:1", "--token", "x"])).toMatchObject({
    target: "http://h:1",
    rate: 10,
    count: 5,
    token: "x",
  });
  expect(() => opts(["--rate", "fast"])).toThrow("--rate must be a non-negative number");
  expect(() => opts(["--count=-1"])).toThrow("--count must be a non-negative number");
  expect(() => opts(["--count", "-1"])).toThrow('--count needs a value; one starting with "-" is written --count=-…');
});

test("acu token create: a patrol token names its patrol (a patrol id), and only a patrol token does", () => {
  const token = (...a: string[]) => parseTokenCommand(parseCommandLine(["token", ...a]));
  expect(token("create", "--scope", "patrol", "--patrol", "p-07")).toEqual({ action: "create", scope: "patrol", label: "", patrolId: "p-07" });
  expect(() => token("create", "--scope", "patrol")).toThrow("--patrol: a patrol token needs the patrol it acts for");
  expect(() => token("create", "--scope", "patrol", "--patrol", "P1")).toThrow('--patrol: "P1" is not a patrol id');
  expect(() => token("create", "--scope", "viewer", "--patrol", "p-07")).toThrow("--patrol: only a patrol token is bound to a patrol");
  expect(() => token("create", "--scope", "root")).toThrow("or patrol (with --patrol ID)");
  expect(() => token("list", "--patrol", "p-07")).toThrow("list takes no --patrol");
});
