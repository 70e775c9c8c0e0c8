/**
 * The one logger every part of acu writes through: levelled and structured (pino), as JSON lines for log
 * shippers or as one human line per event for a terminal. Built once in src/main.ts and injected; nothing
 * else writes to stdout while roles run.
 */
import pino from "pino";
import { prettyFactory } from "pino-pretty";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["json", "text"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Extra fields of one line: numbers, ids, durations. Never a secret (tokens are named by their id). */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries these fields (e.g. `{ component: "sink" }`). */
  child(bindings: LogFields): Logger;
}

/** Kept as the name roles use for their injected logger. */
export type Log = Logger;

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  /** Where lines go; stdout by default. Tests pass their own sink. */
  write?: (line: string) => void;
}

/** The default format: JSON when stdout is not a terminal (a pipe, a container log), text on a terminal. */
export function defaultLogFormat(isTTY: boolean | undefined): LogFormat {
  return isTTY ? "text" : "json";
}

export function createLogger(o: LoggerOptions): Logger {
  return wrap(pino(pinoOptions(o.level), destination(o)));
}

function pinoOptions(level: LogLevel): pino.LoggerOptions {
  return {
    level,
    // `level` as its name and `time` as ISO 8601: what Loki, Elasticsearch and people read without a mapping.
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
    messageKey: "msg",
  };
}

function destination(o: LoggerOptions): pino.DestinationStream {
  const out = o.write ?? ((line: string) => void process.stdout.write(line));
  if (o.format === "text") {
    // Formatted in place, synchronously (pino-pretty's formatter, not its stream or a worker thread).
    const format = prettyFactory({ colorize: false, singleLine: true, translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'", ignore: "pid,hostname" });
    return { write: (s: string) => out(format(s)) };
  }
  if (o.write) return { write: (s: string) => out(s) };
  // Synchronous: a line is out before the process can die (kill -9 tests read the last lines).
  return pino.destination({ dest: 1, sync: true });
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, f) => (f ? p.debug(f, msg) : p.debug(msg)),
    info: (msg, f) => (f ? p.info(f, msg) : p.info(msg)),
    warn: (msg, f) => (f ? p.warn(f, msg) : p.warn(msg)),
    error: (msg, f) => (f ? p.error(f, msg) : p.error(msg)),
    child: (b) => wrap(p.child(b)),
  };
}

/** A logger that drops everything: for library code and tests that have nothing to say. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

export interface LogLine extends LogFields {
  level: LogLevel;
  msg: string;
}

/** A logger that keeps its lines in memory, parsed: tests assert on what was logged. */
export function memoryLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const make = (bindings: LogFields): Logger => {
    const at = (level: LogLevel) => (msg: string, f?: LogFields) => void lines.push({ ...bindings, ...f, level, msg });
    return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: (b) => make({ ...bindings, ...b }) };
  };
  return Object.assign(make({}), { lines, text: () => lines.map((l) => l.msg).join("\n") });
}

/** A logger that hands each line's message to a function (tests collect them as strings). */
export function lineLogger(push: (line: string) => void): Logger {
  const at = (msg: string) => void push(msg);
  const l: Logger = { debug: at, info: at, warn: at, error: at, child: () => l };
  return l;
}
