// The SPY price line over the chosen window, with a marker where each signal was raised:
// pointing up for a buy, down for a sell, in the call or put colour.

import { centredNote, prepare } from "./canvas.js";
import { extent, line, timeFrame } from "./chart.js";
import { clock, price } from "./format.js";

const MARKER = 6;

function marker(ctx, px, py, up, colour) {
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(px, up ? py - MARKER : py + MARKER);
  ctx.lineTo(px - MARKER, up ? py + MARKER * 0.6 : py - MARKER * 0.6);
  ctx.lineTo(px + MARKER, up ? py + MARKER * 0.6 : py - MARKER * 0.6);
  ctx.closePath();
  ctx.fill();
}

export function priceChart(canvas, lastPrice, colours) {
  return function draw(store, now, windowMs) {
    const { ctx, width, height } = prepare(canvas);
    const from = now - windowMs;
    const firstShown = store.quotes.findIndex((q) => q.at >= from);
    // The quote in force when the window opens starts the line at the left edge.
    const quotes = firstShown === -1 ? store.quotes.slice(-1) : store.quotes.slice(Math.max(0, firstShown - 1));
    const signals = store.signals.filter((s) => s.createdAt >= from);
    const last = store.quotes.at(-1);
    lastPrice.textContent = last ? `${price(last.price)} at ${clock(last.at)}` : "—";

    if (!quotes.length) {
      centredNote(ctx, width, height, "Waiting for SPY quotes", colours);
      canvas.setAttribute("aria-label", `SPY price: waiting for quotes; ${signals.length} signals in the window`);
      return;
    }
    const [lo, hi] = extent(quotes.map((q) => q.price));
    const shown = quotes.filter((q) => q.at >= from);
    const frame = timeFrame(ctx, { width, height }, { from, to: now, lo, hi, label: price }, colours);
    line(ctx, [...quotes.map((q) => [q.at, q.price]), [now, last.price]], frame, colours.fg);
    for (const signal of signals) {
      const at = store.priceAt(signal.createdAt) ?? quotes[0].price;
      const colour = signal.contract.right === "C" ? colours.call : colours.put;
      marker(ctx, frame.x(signal.createdAt), frame.y(at), signal.side === "BUY", colour);
    }
    canvas.setAttribute(
      "aria-label",
      `SPY price ${price(last.price)} at ${clock(last.at)}; ${shown.length} quotes and ` +
        `${signals.length} signals in the window`,
    );
  };
}
