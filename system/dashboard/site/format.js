// How numbers, times and contracts read on the page.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-12-18" as "18 Dec 26", without a time zone shifting the day. */
export function expiryLabel(expiry) {
  const [year, month, day] = expiry.split("-");
  return `${Number(day)} ${MONTHS[Number(month) - 1]} ${year.slice(2)}`;
}

export function strikeLabel(strike) {
  return Number.isInteger(strike) ? String(strike) : strike.toFixed(1);
}

/** "SPY 18 Dec 26 605 C", the way traders say it. */
export function contractLabel({ symbol, expiry, strike, right }) {
  return `${symbol} ${expiryLabel(expiry)} ${strikeLabel(strike)} ${right}`;
}

/** Local wall-clock time, 24-hour: "14:03:22". */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
}

/** Hours and minutes only, for axis ticks: "14:05". */
export function shortClock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

export function milliseconds(ms) {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function price(value) {
  return value.toFixed(2);
}

/** Whole seconds until (or since) a moment: "4 s". */
export function seconds(ms) {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}
