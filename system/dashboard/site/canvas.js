// Canvases that stay sharp at any devicePixelRatio, redrawn at most once per frame, in the
// colours styles.css defines.

/** The theme's colours, read once from the CSS custom properties. */
export function themeColours() {
  const style = getComputedStyle(document.documentElement);
  const names = ["grid", "fg", "muted", "call", "put", "p50", "p99", "font"];
  return Object.fromEntries(names.map((name) => [name, style.getPropertyValue(`--${name}`).trim()]));
}

/** Sizes the backing store to the canvas's CSS box times devicePixelRatio and returns a cleared
 * context that draws in CSS pixels. */
export function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = canvas.getBoundingClientRect();
  const pixelWidth = Math.max(1, Math.round(width * ratio));
  const pixelHeight = Math.max(1, Math.round(height * ratio));
  if (canvas.width !== pixelWidth || canvas.height !== pixelHeight) {
    canvas.width = pixelWidth;
    canvas.height = pixelHeight;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** A function that asks for `draw` to run on the next animation frame, once however often it is
 * called before then. */
export function frameScheduler(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/** A line of text centred in the canvas, for "waiting for data". */
export function centredNote(ctx, width, height, text, colours) {
  ctx.fillStyle = colours.muted;
  ctx.font = `13px ${colours.font}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, width / 2, height / 2);
}
