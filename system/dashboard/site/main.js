// Wires the page together: hub messages into the store, the store onto the views, redrawn once
// per animation frame when something changed and every second as time moves on.

import { apiKeyForm, storedApiKey } from "./api-key.js";
import { frameScheduler, themeColours } from "./canvas.js";
import { openHubLink } from "./connection.js";
import { Diagnostics } from "./diagnostics.js";
import { feed } from "./feed.js";
import { drawScale, heatGrid, heatmap } from "./heatmap.js";
import { latencyChart } from "./latency-chart.js";
import { linkStatus } from "./link-status.js";
import { Malformed, TARGETS, parse } from "./messages.js";
import { priceChart } from "./price-chart.js";
import { Store } from "./store.js";

const $ = (selector) => document.querySelector(selector);
const colours = themeColours();
const store = new Store();
const windowSelect = $("#window");

const diagnostics = new Diagnostics({
  received: $("#diag-received"),
  malformed: $("#diag-malformed"),
  duplicates: $("#diag-duplicates"),
  reconnects: $("#diag-reconnects"),
  problem: $("#diag-problem"),
});
const status = linkStatus($("#link"), $("#link-state"), $("#link-detail"), $("#retry"));
const drawPrice = priceChart($("#price-chart"), $("#price-last"), colours);
const drawCalls = heatmap($("#heat-calls"), "C", colours);
const drawPuts = heatmap($("#heat-puts"), "P", colours);
const drawLatency = latencyChart($("#latency-chart"), $("#latency-p50"), $("#latency-p99"), colours);
const drawFeed = feed($("#feed"), $("#feed-count"), $("#feed-empty"));

const redraw = frameScheduler(() => {
  const now = Date.now();
  const windowMs = Number(windowSelect.value);
  store.forget(now);
  status.draw(now);
  drawFeed(store, now);
  drawPrice(store, now, windowMs);
  const grid = heatGrid(store.signals, now);
  drawCalls(grid);
  drawPuts(grid);
  drawLatency(store, now, windowMs);
});

const keep = {
  signal: (signal) => {
    if (!store.addSignal(signal)) diagnostics.duplicate();
  },
  quote: (quote) => store.addQuote(quote),
  latency: (figures) => store.addLatency(figures),
};

function receive(target, args) {
  diagnostics.received();
  let message;
  try {
    message = parse(target, args);
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    diagnostics.malformed(target, error.message);
    return;
  }
  keep[target](message);
  redraw();
}

const handlers = Object.fromEntries(TARGETS.map((target) => [target, (...args) => receive(target, args)]));
const keyForm = apiKeyForm($("#key-form"), $("#api-key"), () => link.retryNow());
const link = openHubLink(handlers, storedApiKey, (change) => {
  status.show(change);
  keyForm.show(change);
  diagnostics.link(change);
  redraw();
});

$("#retry").addEventListener("click", () => link.retryNow());
windowSelect.addEventListener("change", redraw);
setInterval(redraw, 1000);
const resized = new ResizeObserver(() => {
  drawScale($("#heat-scale"));
  redraw();
});
resized.observe(document.body);
