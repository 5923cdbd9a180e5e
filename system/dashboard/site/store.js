// What the page remembers: the last hour of quotes, signals and latency figures, in time order.

const RETAIN_MS = 60 * 60 * 1000;
const MAX_ITEMS = 20_000; // a flood cannot grow the page without bound

/** Insert keeping `items` sorted by `key` (messages almost always arrive in order, so this is
 * usually an append); returns the oldest item if it had to make room. */
function insert(items, item, key) {
  let i = items.length;
  while (i > 0 && items[i - 1][key] > item[key]) i -= 1;
  items.splice(i, 0, item);
  return items.length > MAX_ITEMS ? items.shift() : undefined;
}

function dropBefore(items, key, cutoff) {
  let n = 0;
  while (n < items.length && items[n][key] < cutoff) n += 1;
  return items.splice(0, n);
}

export class Store {
  quotes = [];
  signals = [];
  latency = [];
  /** Grows whenever the signals change, so the feed redraws only then. */
  signalsVersion = 0;
  #signalIds = new Set();

  addQuote(quote) {
    insert(this.quotes, quote, "at");
  }

  /** False for a signal already here: signal ids are deterministic, so a re-published signal
   * is the same signal. */
  addSignal(signal) {
    if (this.#signalIds.has(signal.id)) return false;
    this.#signalIds.add(signal.id);
    const evicted = insert(this.signals, signal, "createdAt");
    if (evicted) this.#signalIds.delete(evicted.id);
    this.signalsVersion += 1;
    return true;
  }

  addLatency(figures) {
    insert(this.latency, figures, "at");
  }

  forget(now) {
    const cutoff = now - RETAIN_MS;
    dropBefore(this.quotes, "at", cutoff);
    dropBefore(this.latency, "at", cutoff);
    const dropped = dropBefore(this.signals, "createdAt", cutoff);
    for (const signal of dropped) this.#signalIds.delete(signal.id);
    if (dropped.length) this.signalsVersion += 1;
  }

  /** The SPY price in force at `time` (the last quote at or before it), or null. */
  priceAt(time) {
    let lo = 0;
    let hi = this.quotes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.quotes[mid].at <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : this.quotes[lo - 1].price;
  }
}
