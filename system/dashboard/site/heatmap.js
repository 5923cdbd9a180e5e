// Anomaly scores on a strike × expiry grid, one canvas for calls and one for puts. A cell shows
// the strongest recent signal on that contract; a score halves every five minutes, so the map
// shows where the chain is unusual now, not an hour ago.

import { centredNote, prepare } from "./canvas.js";
import { expiryLabel, strikeLabel } from "./format.js";

const HALF_LIFE_MS = 5 * 60 * 1000;
const FADED = 0.5; // scores below this are gone from the map
// Robust z-scores are open-ended (a signal starts at the detector's threshold, about 8, and a
// real surge can score in the hundreds), so colours follow the score's logarithm up to 100.
const SCORE_MAX = 100;

// The plasma colour map (perceptually uniform, colour-blind safe, saturated at every level).
const PLASMA = [
  [13, 8, 135],
  [126, 3, 168],
  [204, 71, 120],
  [248, 149, 64],
  [240, 249, 33],
];

/** The plasma colour of a score, on a log scale clamped to [0, SCORE_MAX]. */
function heatColour(score) {
  const level = Math.log1p(Math.max(score, 0)) / Math.log1p(SCORE_MAX);
  const t = Math.min(level, 1) * (PLASMA.length - 1);
  const i = Math.min(Math.floor(t), PLASMA.length - 2);
  const f = t - i;
  const [r, g, b] = PLASMA[i].map((c, k) => Math.round(c + (PLASMA[i + 1][k] - c) * f));
  return `rgb(${r}, ${g}, ${b})`;
}

const cellKey = (right, expiry, strike) => `${right} ${expiry} ${strike}`;

/** The decayed scores of the signals, with the strikes and expiries they cover. Calls and puts
 * share the axes, so the two maps line up. */
export function heatGrid(signals, now) {
  const cells = new Map();
  const strikes = new Set();
  const expiries = new Set();
  for (const { createdAt, score, contract } of signals) {
    const value = score * 0.5 ** (Math.max(0, now - createdAt) / HALF_LIFE_MS);
    if (value < FADED) continue;
    const key = cellKey(contract.right, contract.expiry, contract.strike);
    cells.set(key, Math.max(cells.get(key) ?? 0, value));
    strikes.add(contract.strike);
    expiries.add(contract.expiry);
  }
  return {
    cells,
    strikes: [...strikes].sort((a, b) => a - b),
    expiries: [...expiries].sort(),
  };
}

/** Every `n`-th label, so that labels `spacing` apart keep at least `room` pixels between them. */
const labelEvery = (spacing, room) => Math.max(1, Math.ceil(room / spacing));

export function heatmap(canvas, right, colours) {
  const name = right === "C" ? "Call" : "Put";
  return function draw({ cells, strikes, expiries }) {
    const { ctx, width, height } = prepare(canvas);
    if (!strikes.length) {
      centredNote(ctx, width, height, "No anomalies in the last hour", colours);
      canvas.setAttribute("aria-label", `${name} anomaly scores: none in the last hour`);
      return;
    }
    const box = { left: 64, top: 2, right: width - 4, bottom: height - 20 };
    const cellWidth = (box.right - box.left) / strikes.length;
    const cellHeight = (box.bottom - box.top) / expiries.length;
    const gap = Math.min(1, cellWidth / 8, cellHeight / 8);
    let hottest = null;

    expiries.forEach((expiry, row) => {
      strikes.forEach((strike, column) => {
        const score = cells.get(cellKey(right, expiry, strike));
        if (score !== undefined && (!hottest || score > hottest.score)) hottest = { score, expiry, strike };
        ctx.fillStyle = score === undefined ? colours.grid : heatColour(score);
        ctx.fillRect(
          box.left + column * cellWidth + gap,
          box.top + row * cellHeight + gap,
          cellWidth - 2 * gap,
          cellHeight - 2 * gap,
        );
      });
    });

    ctx.font = `11px ${colours.font}`;
    ctx.fillStyle = colours.muted;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const rowStep = labelEvery(cellHeight, 14);
    expiries.forEach((expiry, row) => {
      if (row % rowStep === 0) ctx.fillText(expiryLabel(expiry), box.left - 6, box.top + (row + 0.5) * cellHeight);
    });
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const columnStep = labelEvery(cellWidth, 40);
    strikes.forEach((strike, column) => {
      if (column % columnStep === 0) ctx.fillText(strikeLabel(strike), box.left + (column + 0.5) * cellWidth, box.bottom + 5);
    });

    canvas.setAttribute(
      "aria-label",
      hottest
        ? `${name} anomaly scores over ${strikes.length} strikes and ${expiries.length} expiries; ` +
            `strongest ${hottest.score.toFixed(1)} at strike ${strikeLabel(hottest.strike)}, ${expiryLabel(hottest.expiry)}`
        : `${name} anomaly scores: none in the last hour; recent anomalies are on the other side`,
    );
  };
}

/** The colour scale beside the title, as logarithmic as the map. */
export function drawScale(canvas) {
  const { ctx, width, height } = prepare(canvas);
  for (let x = 0; x < width; x += 1) {
    ctx.fillStyle = heatColour(Math.expm1((x / (width - 1)) * Math.log1p(SCORE_MAX)));
    ctx.fillRect(x, 0, 1, height);
  }
}
