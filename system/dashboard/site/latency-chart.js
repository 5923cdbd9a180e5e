// Signal-to-order latency: the latest p50 and p99 as figures, and both over the chosen window.

import { centredNote, prepare } from "./canvas.js";
import { extent, line, timeFrame } from "./chart.js";
import { milliseconds } from "./format.js";

export function latencyChart(canvas, p50Figure, p99Figure, colours) {
  return function draw(store, now, windowMs) {
    const { ctx, width, height } = prepare(canvas);
    const from = now - windowMs;
    const latest = store.latency.at(-1);
    p50Figure.textContent = latest ? milliseconds(latest.p50) : "—";
    p99Figure.textContent = latest ? milliseconds(latest.p99) : "—";
    const shown = store.latency.filter((f) => f.at >= from);
    if (!shown.length) {
      centredNote(ctx, width, height, "Waiting for latency figures", colours);
      canvas.setAttribute("aria-label", "Signal-to-order latency: no figures in the window");
      return;
    }
    const [lo, hi] = extent([...shown.map((f) => f.p50), ...shown.map((f) => f.p99)], 0);
    const frame = timeFrame(ctx, { width, height }, { from, to: now, lo, hi, label: milliseconds }, colours);
    // One figure per sampling interval (a minute in prod): each is marked.
    line(ctx, shown.map((f) => [f.at, f.p99]), frame, colours.p99, { dots: true });
    line(ctx, shown.map((f) => [f.at, f.p50]), frame, colours.p50, { dots: true });
    canvas.setAttribute(
      "aria-label",
      `Signal-to-order latency: p50 ${milliseconds(latest.p50)}, p99 ${milliseconds(latest.p99)} ` +
        `over ${latest.count} orders; ${shown.length} figures in the window`,
    );
  };
}
