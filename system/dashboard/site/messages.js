// What the dashboard hub sends, checked before anything is drawn. Each target carries exactly one
// JSON object as its argument:
//
//   signal   a Signal as the backend serialises it (system/domain/signals.py)
//   quote    {"symbol": "SPY", "price": 601.25, "at": "2026-11-24T15:00:00Z"}
//   latency  {"p50_ms": 21.4, "p99_ms": 48.9, "count": 1200, "at": "2026-11-24T15:00:00Z",
//             "replica": "bot-2"}: one bot's signal-to-order figures over one sampling interval
//
// A parser returns the plain values the views use (times as epoch milliseconds), or throws
// Malformed naming what is wrong; the page counts those and carries on.

export class Malformed extends Error {}

function check(ok, problem) {
  if (!ok) throw new Malformed(problem);
}

function object(value, name) {
  check(typeof value === "object" && value !== null && !Array.isArray(value), `${name} is not an object`);
  return value;
}

function text(from, key, pattern = /\S/) {
  const value = from[key];
  check(typeof value === "string" && pattern.test(value), `${key} is missing or not valid`);
  return value;
}

function number(from, key, { min = -Infinity, decimalText = false } = {}) {
  const raw = from[key];
  // Python's Decimal (a strike) travels as a string, so that no digit is lost.
  const value = decimalText && typeof raw === "string" && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  check(typeof value === "number" && Number.isFinite(value) && value >= min, `${key} is not a number ≥ ${min}`);
  return value;
}

function time(from, key) {
  const value = Date.parse(text(from, key));
  check(!Number.isNaN(value), `${key} is not a time`);
  return value;
}

function signal(value) {
  const raw = object(value, "signal");
  const contract = object(raw.contract, "contract");
  const parsed = {
    id: text(raw, "id"),
    createdAt: time(raw, "created_at"),
    expiresAt: time(raw, "expires_at"),
    contract: {
      symbol: text(contract, "symbol", /^[A-Z]{1,6}$/),
      expiry: text(contract, "expiry", /^\d{4}-\d{2}-\d{2}$/),
      strike: number(contract, "strike", { min: Number.MIN_VALUE, decimalText: true }),
      right: text(contract, "right", /^[CP]$/),
    },
    side: text(raw, "side", /^(BUY|SELL)$/),
    score: number(raw, "score", { min: 0 }),
    reason: text(raw, "reason"),
  };
  check(parsed.expiresAt > parsed.createdAt, "expires_at is not after created_at");
  return parsed;
}

function quote(value) {
  const raw = object(value, "quote");
  return {
    symbol: text(raw, "symbol", /^[A-Z]{1,6}$/),
    price: number(raw, "price", { min: Number.MIN_VALUE }),
    at: time(raw, "at"),
  };
}

function latency(value) {
  const raw = object(value, "latency");
  const parsed = {
    p50: number(raw, "p50_ms", { min: 0 }),
    p99: number(raw, "p99_ms", { min: 0 }),
    count: number(raw, "count", { min: 0 }),
    at: time(raw, "at"),
  };
  check(parsed.p99 >= parsed.p50, "p99_ms is below p50_ms");
  return parsed;
}

const PARSERS = { signal, quote, latency };

export const TARGETS = Object.keys(PARSERS);

/** The message one hub invocation carries, from its target and arguments. */
export function parse(target, args) {
  check(args.length === 1, `expected one argument, got ${args.length}`);
  return PARSERS[target](args[0]);
}
