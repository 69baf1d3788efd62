// Live effects: webcam frames -> POST /v1/effects (one session, so the server keeps
// tracking and smoothing between frames) -> canvas. One request in flight at a time:
// a slow server lowers the frame rate instead of queueing stale frames.
"use strict";

const state = { running: false, stream: null, session: null, frames: 0, t0: 0, since: 0, recent: [] };

function slider(container, name, min, max) {
  const label = document.createElement("label");
  label.className = "slider";
  const text = document.createElement("span");
  text.textContent = name.replace(/_/g, " ");
  const out = document.createElement("output");
  out.textContent = "0";
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: String(min), max: String(max), step: "0.05", value: "0", name });
  input.dataset.control = name;
  input.addEventListener("input", () => { out.textContent = Number(input.value).toFixed(2); });
  label.append(text, out, input);
  container.append(label);
}

function applyPreset(presets) {
  const p = presets[el("fx-preset").value] || {};
  document.querySelectorAll("[data-control]").forEach((i) => {
    i.value = String(p[i.dataset.control] || 0);
    i.dispatchEvent(new Event("input"));
  });
  const chosen = String(p.stickers || "").split(",").filter(Boolean);
  document.querySelectorAll("[data-sticker]").forEach((c) => { c.checked = chosen.includes(c.dataset.sticker); });
  el("fx-background").value = p.background === "blur" || p.background === "color" ? p.background : "";
}

function currentParams() {
  const params = {};
  document.querySelectorAll("[data-control]").forEach((i) => {
    const v = Number(i.value);
    if (v !== 0) params[i.dataset.control] = v;
  });
  const stickers = [...document.querySelectorAll("[data-sticker]")].filter((c) => c.checked).map((c) => c.dataset.sticker);
  if (stickers.length) params.stickers = stickers.join(",");
  const bg = el("fx-background").value;
  if (bg) params.background = bg;
  return params;
}

async function loadCatalogue() {
  const cat = await (await api("/v1/effects/catalogue")).json();
  const preset = el("fx-preset");
  for (const name of Object.keys(cat.presets)) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = name;
    preset.append(o);
  }
  cat.face_controls.forEach((n) => slider(el("fx-face"), n, 0, 1));
  cat.body_controls.forEach((n) => slider(el("fx-body"), n, -1, 1));
  for (const s of cat.stickers) {
    const label = document.createElement("label");
    label.className = "check";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.dataset.sticker = s;
    label.append(box, document.createTextNode(s.replace(/_/g, " ")));
    el("fx-stickers").append(label);
  }
  preset.addEventListener("change", () => applyPreset(cat.presets));
}

async function frameLoop() {
  const video = el("fx-cam");
  const grab = document.createElement("canvas");
  const out = el("fx-out");
  const ctx = out.getContext("2d");
  while (state.running) {
    if (video.readyState < 2 || !video.videoWidth) { await new Promise((r) => setTimeout(r, 50)); continue; }
    grab.width = video.videoWidth;
    grab.height = video.videoHeight;
    grab.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.85));
    const form = new FormData();
    form.append("image", blob, "frame.jpg");
    form.append("preset", "none"); // the controls already hold the preset's values
    form.append("params", JSON.stringify(currentParams()));
    form.append("session", state.session);
    form.append("t", ((performance.now() - state.t0) / 1000).toFixed(3));
    try {
      const res = await api("/v1/effects", { method: "POST", body: form });
      const bitmap = await createImageBitmap(await res.blob());
      if (out.width !== bitmap.width) { out.width = bitmap.width; out.height = bitmap.height; }
      ctx.drawImage(bitmap, 0, 0);
      state.frames += 1;
      const now = performance.now();
      state.recent.push(now);
      state.recent = state.recent.filter((t) => now - t < 2000);
      const stats = el("fx-stats");
      stats.dataset.frames = String(state.frames);
      stats.textContent = `${state.frames} frames · ${(state.recent.length / 2).toFixed(1)} fps`;
    } catch (err) {
      toast(err.message);
      if (err.status === 401 || err.status === 403) { stop(); showKeyForm(); }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function start() {
  state.stream = await openCamera("fx-cam");
  if (!state.stream) return;
  state.session = `web${Math.random().toString(36).slice(2, 12)}`;
  state.running = true;
  state.t0 = performance.now();
  el("fx-start").disabled = true;
  el("fx-stop").disabled = false;
  el("fx-status").textContent = "Live.";
  frameLoop();
}

function stop() {
  state.running = false;
  closeCamera(state.stream);
  state.stream = null;
  el("fx-start").disabled = false;
  el("fx-stop").disabled = true;
  el("fx-status").textContent = "Camera off.";
}

function showKeyForm() {
  const form = el("fx-key");
  form.hidden = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, form.key.value.trim());
    try { await loadCatalogue(); form.hidden = true; } catch (err) { toast(err.message); }
  }, { once: true });
}

document.addEventListener("DOMContentLoaded", async () => {
  el("fx-start").addEventListener("click", start);
  el("fx-stop").addEventListener("click", stop);
  if (!sessionStorage.getItem(KEY)) { showKeyForm(); return; }
  try { await loadCatalogue(); } catch (err) { toast(err.message); showKeyForm(); }
});
