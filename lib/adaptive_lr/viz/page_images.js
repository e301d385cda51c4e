// The page's half of viz._page.PageImages: images of slider values, kept in the page, shown on
// the slider's own change event with no round trip to the kernel.
//
// The kernel sends each image the forked process renders ahead ("image", its PNG as a buffer).
// When a slider moves in the page, its model changes here at once (before the kernel hears of
// it); if the image of the new values is held, it is drawn into the ipympl canvas model's
// offscreen canvas and every view of it is updated, as ipympl does with a frame it receives.
// The kernel's own frames keep arriving through ipympl for values the page does not hold; when
// the kernel has sent one since, it asks again for the held image of the values it settles on
// ("show"), so the figure always ends on the sliders' values. A held image that does not fit
// the canvas (another size or device pixel ratio) is reported back ("missing").
//
// The held images of the values one step from the sliders' (each slider one grid step either
// way) are decoded ahead while the figure is on screen, so that a one-step move only draws a
// bitmap: decoding on the move put the browser's image-decoding thread, which competes for the
// cores with the kernel's image processes, between the key press and the figure.

export function indexOf(spec, model) {
  // The control's grid index, as viz.widgets.Control.index computes it; null off the grid.
  if (spec.kind === "choice") return model.get("index");
  if (spec.kind === "toggle") return model.get("value") ? 1 : 0;
  const value = model.get("value");
  const x = spec.kind === "log" ? Math.log10(value) : value;
  const k = (x - spec.min) / spec.step;
  const i = Math.round(k);
  return Math.abs(k - i) < 1e-6 && i >= 0 && i < spec.count ? i : null;
}

function frameLanded(canvas) {
  // A frame ipympl is still decoding would be drawn over the held one: wait for it.
  const image = canvas.image;
  if (!image || image.complete) return Promise.resolve();
  return new Promise((resolve) => {
    image.addEventListener("load", resolve, { once: true });
    image.addEventListener("error", resolve, { once: true });
  });
}

export async function setup(model) {
  const manager = model.widget_manager;
  const canvas = await manager.get_model(model.get("canvas_id"));
  const specs = model.get("controls");
  const controls = await Promise.all(specs.map((spec) => manager.get_model(spec.id)));
  const held = new Map(); // key -> Blob (PNG)
  const decoded = new Map(); // key -> Promise of its ImageBitmap: the current values and their neighbours
  let ticket = 0; // the latest request to show something; older ones give way
  let visible = true; // whether a view is on screen; what the kernel assumes until told

  function currentKey() {
    const indices = specs.map((spec, i) => indexOf(spec, controls[i]));
    return indices.includes(null) ? null : indices.join(",");
  }

  function neighbours(key) {
    const indices = key.split(",").map(Number);
    const keys = [];
    specs.forEach((spec, i) => {
      for (const j of [indices[i] - 1, indices[i] + 1]) {
        if (j >= 0 && j < spec.count) keys.push(indices.map((k, n) => (n === i ? j : k)).join(","));
      }
    });
    return keys;
  }

  function bitmapOf(key) {
    let bitmap = decoded.get(key);
    if (bitmap === undefined) {
      bitmap = createImageBitmap(held.get(key)).catch(() => null);
      decoded.set(key, bitmap);
    }
    return bitmap;
  }

  function forget(key) {
    const bitmap = decoded.get(key);
    decoded.delete(key);
    // The current values' bitmap may be on its way to the canvas: the garbage collector frees it.
    if (bitmap !== undefined && key !== currentKey()) bitmap.then((b) => b && b.close());
  }

  function decodeAround() {
    // Keep decoded what a one-step move can reach, and nothing else.
    const key = currentKey();
    const wanted = new Set(visible && key !== null ? [key, ...neighbours(key)] : []);
    [...decoded.keys()].filter((k) => !wanted.has(k)).forEach(forget);
    wanted.forEach((k) => held.has(k) && bitmapOf(k));
  }

  async function show(key, askedByKernel) {
    const mine = ++ticket;
    if (!held.has(key)) {
      if (askedByKernel) model.send({ type: "missing", key });
      return;
    }
    const bitmap = await bitmapOf(key);
    await frameLanded(canvas);
    const offscreen = canvas.offscreen_canvas;
    if (mine !== ticket || bitmap === null || bitmap.width === 0) {
      return; // a later move is showing (a bitmap already closed has width 0)
    }
    if (bitmap.width !== offscreen.width || bitmap.height !== offscreen.height) {
      held.delete(key);
      forget(key);
      model.send({ type: "missing", key });
      return;
    }
    canvas.offscreen_context.clearRect(0, 0, offscreen.width, offscreen.height);
    canvas.offscreen_context.drawImage(bitmap, 0, 0);
    canvas._for_each_view((view) => view.update_canvas());
    decodeAround();
  }

  function onControl() {
    const key = currentKey();
    if (key !== null && held.has(key)) {
      show(key, false);
    } else {
      ticket++; // a held image still decoding is no longer what the sliders say
      decodeAround();
    }
  }

  function handle(msg, buffers) {
    if (msg.type === "image") {
      held.set(msg.key, new Blob([buffers[0]], { type: "image/png" }));
      forget(msg.key); // a bitmap of the key's earlier image is stale
      // The sliders may already be there: the image was on its way when they moved, and the
      // kernel, which counts it as held from the moment it sent it, leaves the move to the page.
      if (msg.key === currentKey()) show(msg.key, false);
      else decodeAround();
    } else if (msg.type === "show") {
      show(msg.key, true);
    } else if (msg.type === "drop") {
      msg.keys.forEach((key) => {
        held.delete(key);
        forget(key);
      });
    }
  }

  // Whether any view of the canvas is on screen: the kernel pauses the rendering of a figure
  // no one can see, so that the cores go to the one being read.
  const onScreen = new Map(); // view element -> intersecting
  const observer = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver(
    (entries) => {
      entries.forEach((entry) => onScreen.set(entry.target, entry.isIntersecting));
      const now = [...onScreen.entries()].some(([el, seen]) => seen && el.isConnected);
      if (now !== visible) {
        visible = now;
        model.send({ type: "visible", value: now });
        decodeAround(); // off screen: nothing decoded ahead
      }
    });
  function watchViews() { // views come and go (a re-rendered output): watch the new ones
    if (observer === null) return;
    canvas._for_each_view((view) => {
      if (!onScreen.has(view.el)) {
        onScreen.set(view.el, false);
        observer.observe(view.el);
      }
    });
  }

  function onMessage(msg, buffers) {
    watchViews();
    handle(msg, buffers);
  }

  controls.forEach((control) => control.on("change:value change:index", onControl));
  model.on("msg:custom", onMessage);
  model.send({ type: "hello" }); // a new page holds nothing: the kernel sends its images again
  watchViews();
  return () => {
    controls.forEach((control) => control.off("change:value change:index", onControl));
    model.off("msg:custom", onMessage);
    if (observer !== null) observer.disconnect();
    held.clear();
    [...decoded.keys()].forEach(forget);
  };
}

export default {
  initialize({ model }) {
    const done = setup(model);
    return () => done.then((cleanup) => cleanup());
  },
};
