// Runs viz/page_images.js in Node against stand-ins for the widget models, the ipympl canvas
// model and the browser's image decoding; prints what happened as JSON (tests/viz/test_page_js.py).
// Usage: node page_images_harness.mjs MODULE_PATH < request.json

import { pathToFileURL } from "node:url";

const request = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));
const { indexOf, setup } = await import(pathToFileURL(process.argv[2]).href);

class Model {
  constructor(state) {
    this.state = { ...state };
    this.handlers = {};
    this.sent = [];
  }
  get(name) { return this.state[name]; }
  on(events, callback) {
    for (const event of events.split(" ")) (this.handlers[event] ??= []).push(callback);
  }
  off(events, callback) {
    for (const event of events.split(" ")) {
      this.handlers[event] = (this.handlers[event] || []).filter((c) => c !== callback);
    }
  }
  set(name, value) {
    this.state[name] = value;
    for (const callback of this.handlers[`change:${name}`] || []) callback();
  }
  send(content) { this.sent.push(content); }
  custom(content, buffers = []) {
    for (const callback of this.handlers["msg:custom"] || []) callback(content, buffers);
  }
}

// A PNG's "decoding" takes `delay` ms and yields its size, read from the buffer's first bytes.
let decodeDelays = [];
const decodes = []; // the ids of the images decoded, in order
const closed = []; // the ids of the bitmaps closed
globalThis.createImageBitmap = async (blob) => {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  decodes.push(bytes[2]);
  await new Promise((r) => setTimeout(r, decodeDelays.shift() ?? 0));
  return { width: bytes[0], height: bytes[1], id: bytes[2], close() { closed.push(bytes[2]); } };
};

// The page's IntersectionObserver: the harness says when an element enters or leaves the screen.
const observers = [];
globalThis.IntersectionObserver = class {
  constructor(callback) { this.callback = callback; this.targets = []; observers.push(this); }
  observe(el) { this.targets.push(el); }
  disconnect() { this.targets = []; }
};
function intersect(el, isIntersecting) {
  for (const o of observers) if (o.targets.includes(el)) o.callback([{ target: el, isIntersecting }]);
}

function canvasModel(width, height) {
  const drawn = [];
  const views = [];
  return {
    drawn, views,
    image: { complete: true },
    offscreen_canvas: { width, height },
    offscreen_context: { clearRect() {}, drawImage(bitmap) { drawn.push(bitmap.id); } },
    _for_each_view(callback) { views.forEach(callback); },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 30));
const out = {};

if (request.indices) {
  out.indices = request.indices.map(([spec, state]) => indexOf(spec, new Model(state)));
}

if (request.scenario) {
  const canvas = canvasModel(8, 6);
  let updates = 0;
  const view = { el: { isConnected: true }, update_canvas() { updates++; } };
  canvas.views.push(view);
  const slider = new Model({ value: 0.0 });
  const models = { canvas, slider };
  const page = new Model({
    canvas_id: "canvas",
    controls: [{ id: "slider", kind: "float", min: 0.0, step: 0.5, count: 5 }],
  });
  page.widget_manager = { get_model: async (id) => models[id] };
  const cleanup = await setup(page);
  const png = (w, h, id) => new Uint8Array([w, h, id]).buffer;
  page.custom({ type: "image", key: "1" }, [png(8, 6, 1)]);
  page.custom({ type: "image", key: "2" }, [png(8, 6, 2)]);
  page.custom({ type: "image", key: "3" }, [png(9, 6, 3)]); // made for another canvas size
  const events = {};

  slider.set("value", 0.5); // held: drawn by the page
  await settle();
  events.held = { drawn: [...canvas.drawn], updates };

  slider.set("value", 1.25); // off the grid: nothing
  await settle();
  events.offGrid = [...canvas.drawn];

  decodeDelays = [20, 0]; // the first decode is slow: the later move must win
  slider.set("value", 0.5);
  slider.set("value", 1.0);
  await settle();
  events.latestWins = [...canvas.drawn];

  slider.set("value", 1.5); // held, but for another size: reported, not drawn
  await settle();
  events.wrongSize = { drawn: [...canvas.drawn], sent: [...page.sent] };

  page.custom({ type: "show", key: "0" }); // the kernel asks for what the page lacks
  page.custom({ type: "drop", keys: ["1"] });
  page.custom({ type: "show", key: "1" });
  await settle();
  events.askedMissing = [...page.sent];

  canvas.image.complete = false; // ipympl is decoding a frame of its own
  let landed;
  canvas.image.addEventListener = (kind, resolve) => { if (kind === "load") landed = resolve; };
  page.custom({ type: "show", key: "2" });
  await settle();
  events.waitsForFrame = { before: [...canvas.drawn] };
  canvas.image.complete = true;
  landed();
  await settle();
  events.waitsForFrame.after = [...canvas.drawn];

  const sentBefore = page.sent.length;
  intersect(view.el, false); // scrolled away
  intersect(view.el, false);
  intersect(view.el, true); // back
  events.visibility = page.sent.slice(sentBefore);

  slider.set("value", 2.0); // not held yet: nothing to draw
  await settle();
  const drawnBefore = canvas.drawn.length;
  page.custom({ type: "image", key: "4" }, [png(8, 6, 4)]); // on its way when the slider moved
  await settle();
  events.lateArrival = canvas.drawn.slice(drawnBefore);

  cleanup();
  slider.set("value", 1.0);
  await settle();
  events.afterCleanup = [...canvas.drawn];
  out.events = events;
}

if (request.ahead) {
  // Two sliders of three values; every image held. What is decoded before and on a move.
  const canvas = canvasModel(8, 6);
  const view = { el: { isConnected: true }, update_canvas() {} };
  canvas.views.push(view);
  const models = { canvas, a: new Model({ value: 0.0 }), b: new Model({ value: 0.0 }) };
  const control = (id) => ({ id, kind: "float", min: 0.0, step: 1.0, count: 3 });
  const page = new Model({ canvas_id: "canvas", controls: [control("a"), control("b")] });
  page.widget_manager = { get_model: async (id) => models[id] };
  await setup(page);
  const sorted = (ids) => [...ids].sort((x, y) => x - y);
  const png = (w, h, id) => new Uint8Array([w, h, id]).buffer;
  const ahead = {};
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) page.custom({ type: "image", key: `${i},${j}` }, [png(8, 6, 10 * i + j)]);
  }
  await settle();
  ahead.onArrival = sorted(decodes);
  decodes.length = 0;
  models.a.set("value", 1.0); // to "1,0": decoded already; its own neighbours are decoded next
  await settle();
  ahead.move = { drawn: [...canvas.drawn], decodes: sorted(decodes), closed: sorted(closed) };
  decodes.length = 0;
  closed.length = 0;
  intersect(view.el, false); // off screen: nothing kept decoded but what may be on its way
  await settle();
  ahead.offScreen = { closed: sorted(closed), decodes: [...decodes] };
  intersect(view.el, true);
  await settle();
  ahead.backOnScreen = sorted(decodes);
  out.ahead = ahead;
}

console.log(JSON.stringify(out));
