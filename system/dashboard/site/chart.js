// The frame shared by the time-series charts: scales, grid lines and axis labels.

import { shortClock } from "./format.js";

const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30].map((minutes) => minutes * 60_000);

/** Round-numbered ticks covering [lo, hi], about `count` of them. */
function valueTicks(lo, hi, count) {
  const rough = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= rough);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) ticks.push(v);
  return ticks;
}

/** [lo, hi] of the values with some room above and below, never empty. */
export function extent(values, floor = -Infinity) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const pad = hi > lo ? (hi - lo) * 0.1 : Math.max(Math.abs(hi) * 0.001, 0.5);
  lo = Math.max(floor, lo - pad);
  hi += pad;
  return [lo, hi];
}

/**
 * Draws grid and labels for a chart of values over [from, to] and returns the scales.
 * Values are labelled on the right, where the latest point is.
 */
export function timeFrame(ctx, size, { from, to, lo, hi, label }, colours) {
  const box = { left: 6, top: 8, right: size.width - 58, bottom: size.height - 22 };
  const x = (t) => box.left + ((t - from) / (to - from)) * (box.right - box.left);
  const y = (v) => box.bottom - ((v - lo) / (hi - lo)) * (box.bottom - box.top);

  ctx.font = `11px ${colours.font}`;
  ctx.lineWidth = 1;
  ctx.strokeStyle = colours.grid;
  ctx.fillStyle = colours.muted;

  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  for (const v of valueTicks(lo, hi, Math.max(2, Math.floor((box.bottom - box.top) / 40)))) {
    const py = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(box.left, py);
    ctx.lineTo(box.right, py);
    ctx.stroke();
    ctx.fillText(label(v), box.right + 6, py);
  }

  const wanted = (to - from) / Math.max(2, Math.floor((box.right - box.left) / 90));
  const step = TIME_STEPS_MS.find((s) => s >= wanted) ?? TIME_STEPS_MS.at(-1);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const px = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, box.top);
    ctx.lineTo(px, box.bottom);
    ctx.stroke();
    const text = shortClock(t);
    const half = ctx.measureText(text).width / 2;
    if (px - half >= 0 && px + half <= box.right) ctx.fillText(text, px, box.bottom + 6);
  }
  return { box, x, y };
}

/**
 * A polyline through the points, clipped to the frame; with `dots`, each point marked too (for
 * sparse series, where a single point would draw nothing).
 */
export function line(ctx, points, { box, x, y }, colour, { dots = false } = {}) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  ctx.clip();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5;
  ctx.lineJoin = "round";
  ctx.beginPath();
  points.forEach(([t, v], i) => (i === 0 ? ctx.moveTo(x(t), y(v)) : ctx.lineTo(x(t), y(v))));
  ctx.stroke();
  if (dots) {
    ctx.fillStyle = colour;
    for (const [t, v] of points) {
      ctx.beginPath();
      ctx.arc(x(t), y(v), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.restore();
}
