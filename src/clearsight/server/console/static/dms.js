// Driver monitoring: webcam frames -> POST /v1/dms/sessions/{id}/frames at a steady
// rate, each stamped with its capture time (alerts are timed by these stamps, so a
// slow network delays the answer, never the alert's time). One request in flight:
// a tick that finds the previous frame still being analysed is skipped, not queued.
"use strict";

const state = { running: false, stream: null, session: null, frames: 0, t0: 0, timer: null, busy: false, recent: [], pausedUntil: 0 };
const LABELS = {
  "dms.microsleep": "Eyes closed", "dms.drowsy": "Drowsy (PERCLOS)", "dms.distracted": "Eyes off the road",
  "dms.yawn": "Yawn", "dms.absent": "No driver", "dms.agitated": "Agitated",
};

function set(id, text, cls) {
  const d = el(id);
  d.textContent = text;
  d.className = cls || "";
}

function pct(v) { return v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`; }

function showState(body) {
  const s = body.state;
  const a = body.agitation;
  const box = el("dms-state");
  box.dataset.calibrated = String(s.calibrated);
  box.dataset.time = String(s.time);
  set("st-face", s.face_present ? "present" : `absent${s.absent_reason ? ` (${s.absent_reason.replace(/_/g, " ")})` : ""} ${s.absent_s.toFixed(1)} s`, s.face_present ? "ok" : "bad");
  set("st-calib", s.calibrated ? "done" : "look at the road…", s.calibrated ? "ok" : "warn");
  if (s.eyes_closed === null || s.eyes_closed === undefined) set("st-eyes", "–");
  else set("st-eyes", s.eyes_closed ? `CLOSED ${s.closure_s.toFixed(1)} s` : `open (${(s.openness_ratio || 0).toFixed(2)})`, s.eyes_closed ? "bad" : "ok");
  set("st-perclos", s.perclos === null ? "warming up (needs 60 s)" : pct(s.perclos), s.perclos !== null && s.perclos >= 0.15 ? "bad" : "");
  if (s.gaze_offset) {
    const [yaw, pitch] = s.gaze_offset;
    set("st-gaze", `${s.off_road ? "OFF ROAD" : "road"} · ${yaw >= 0 ? "+" : ""}${yaw.toFixed(0)}° / ${pitch >= 0 ? "+" : ""}${pitch.toFixed(0)}°`, s.off_road ? "bad" : "ok");
  } else set("st-gaze", "–");
  set("st-offroad", `${s.off_road_s.toFixed(1)} s now · ${s.cumulative_off_road_s.toFixed(1)} s in 30 s`, s.off_road_s >= 3 || s.cumulative_off_road_s > 10 ? "bad" : "");
  set("st-blinks", s.blinks_per_min === null ? "–" : s.blinks_per_min.toFixed(0));
  set("st-yawns", String(s.yawns), s.yawning ? "warn" : "");
  set("st-agitation", `${(a.index || 0).toFixed(2)} ${a.index >= 0.6 ? "nervous?" : "calm"}`, a.index >= 0.6 ? "warn" : "");
}

function detailOf(e) {
  const d = e.data || {};
  return String(d.level || d.kind || d.reason || "").replace(/_/g, " ");
}

function addAlerts(list, events) {
  if (!events.length) return;
  const empty = list.querySelector("[data-empty]");
  if (empty) empty.remove();
  for (const e of events) {
    const li = document.createElement("li");
    li.dataset.type = e.type;
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = `${e.time.toFixed(1)} s`;
    const detail = detailOf(e);
    li.append(when, document.createTextNode(`${LABELS[e.type] || e.type}${detail ? ` · ${detail}` : ""}`));
    list.prepend(li);
  }
}

async function newSession() {
  if (state.session) { api(`/v1/dms/sessions/${state.session}`, { method: "DELETE" }).catch(() => {}); }
  const res = await api("/v1/dms/sessions", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ thresholds: {} }) });
  state.session = (await res.json()).id;
  state.t0 = performance.now();
  state.frames = 0;
  el("dms-state").dataset.calibrated = "false";
}

async function sendFrame(video, grab, out) {
  if (state.busy || !state.running || performance.now() < state.pausedUntil) return;
  if (video.readyState < 2 || !video.videoWidth) return;
  state.busy = true;
  try {
    const t = (performance.now() - state.t0) / 1000; // capture time of this frame
    grab.width = video.videoWidth;
    grab.height = video.videoHeight;
    grab.getContext("2d").drawImage(video, 0, 0);
    const overlay = el("dms-overlay").checked;
    const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.85));
    const form = new FormData();
    form.append("image", blob, "frame.jpg");
    form.append("t", t.toFixed(3));
    if (overlay) form.append("annotate", "true");
    const body = await (await api(`/v1/dms/sessions/${state.session}/frames`, { method: "POST", body: form })).json();
    const ctx = out.getContext("2d");
    if (overlay && body.annotated) {
      const img = new Image();
      img.src = body.annotated;
      await img.decode();
      if (out.width !== img.width) { out.width = img.width; out.height = img.height; }
      ctx.drawImage(img, 0, 0);
    } else {
      if (out.width !== grab.width) { out.width = grab.width; out.height = grab.height; }
      ctx.drawImage(grab, 0, 0);
    }
    showState(body);
    addAlerts(el("dms-alerts"), body.events);
    state.frames += 1;
    const now = performance.now();
    state.recent.push(now);
    state.recent = state.recent.filter((x) => now - x < 3000);
    const stats = el("dms-stats");
    stats.dataset.frames = String(state.frames);
    stats.textContent = `${state.frames} frames · ${(state.recent.length / 3).toFixed(1)} fps analysed`;
  } catch (err) {
    if (err.status === 401 || err.status === 403) { toast(err.message); stop(); showKeyForm(); }
    else if (err.status === 429) {
      state.pausedUntil = performance.now() + 1000 * (err.retryAfter || 1);
      el("dms-status").textContent = "Rate limited: lower the frames per second, or use an operator key.";
    } else if (err.code === "dms_session_not_found") {
      toast("The session expired; starting a new one (recalibrating).");
      await newSession().catch((e) => toast(e.message));
    } else {
      toast(err.message);
    }
  } finally {
    state.busy = false;
  }
}

function schedule() {
  clearInterval(state.timer);
  if (!state.running) return;
  const video = el("dms-cam");
  const grab = document.createElement("canvas");
  const out = el("dms-out");
  state.timer = setInterval(() => sendFrame(video, grab, out), 1000 / Number(el("dms-fps").value));
}

async function start() {
  state.stream = await openCamera("dms-cam");
  if (!state.stream) return;
  try { await newSession(); } catch (err) {
    toast(err.message);
    stopCamera();
    if (err.status === 401 || err.status === 403) showKeyForm();
    return;
  }
  state.running = true;
  el("dms-start").disabled = true;
  el("dms-stop").disabled = false;
  el("dms-reset").disabled = false;
  el("dms-status").textContent = "Live. Look at the road to calibrate.";
  schedule();
}

function stopCamera() {
  closeCamera(state.stream);
  state.stream = null;
}

function stop() {
  state.running = false;
  clearInterval(state.timer);
  stopCamera();
  if (state.session) api(`/v1/dms/sessions/${state.session}`, { method: "DELETE" }).catch(() => {});
  state.session = null;
  el("dms-start").disabled = false;
  el("dms-stop").disabled = true;
  el("dms-reset").disabled = true;
  el("dms-status").textContent = "Camera off.";
}

function drawTimeline(canvas, rows, duration) {
  canvas.width = canvas.clientWidth || 800;
  canvas.height = 90;
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const x = (t) => (duration > 0 ? (t / duration) * w : 0);
  const lanes = [["no face", (r) => !r.face_present, "#8a94a6"], ["eyes closed", (r) => r.eyes_closed, "#b3261e"], ["off road", (r) => r.off_road, "#d98b00"]];
  lanes.forEach(([name, on, color], i) => {
    ctx.fillStyle = color;
    rows.forEach((r, j) => {
      if (!on(r)) return;
      const t1 = j + 1 < rows.length ? rows[j + 1].t : r.t + 0.04;
      ctx.fillRect(x(r.t), 8 + i * 26, Math.max(1, x(t1) - x(r.t)), 18);
    });
    ctx.fillStyle = "#1b2430";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(name, 4, 21 + i * 26);
  });
}

function cell(tag, text) { const c = document.createElement(tag); c.textContent = text; return c; }

function showReport(body) {
  const box = el("dms-report");
  box.replaceChildren();
  box.className = "dms-report";
  const s = body.summary;
  const p = document.createElement("p");
  p.dataset.frames = String(body.frames);
  p.textContent = `${body.frames} frames, ${body.duration_s.toFixed(1)} s at ${body.fps.toFixed(1)} fps${body.truncated ? " (the rest of the file was not analysed)" : ""}. `
    + `Face visible ${pct(s.face_present_ratio)}, eyes closed ${pct(s.eyes_closed_ratio)}, off the road ${pct(s.off_road_ratio)}, peak agitation ${s.max_agitation.toFixed(2)}.`;
  const canvas = document.createElement("canvas");
  canvas.className = "dms-timeline";
  canvas.setAttribute("aria-label", "timeline: no face, eyes closed, off road");
  box.append(p, canvas);
  drawTimeline(canvas, body.timeline, body.duration_s + (body.fps ? 1 / body.fps : 0));
  const table = document.createElement("table");
  const head = document.createElement("tr");
  head.append(cell("th", "Time"), cell("th", "Alert"), cell("th", "Detail"));
  table.append(head);
  if (!body.events.length) {
    const tr = document.createElement("tr");
    const td = cell("td", "No alerts.");
    td.colSpan = 3;
    tr.append(td);
    table.append(tr);
  }
  for (const e of body.events) {
    const tr = document.createElement("tr");
    tr.dataset.type = e.type;
    tr.append(cell("td", `${e.time.toFixed(2)} s`), cell("td", LABELS[e.type] || e.type), cell("td", detailOf(e)));
    table.append(tr);
  }
  box.append(table);
}

async function analyse(e) {
  e.preventDefault();
  const form = el("dms-upload");
  const button = form.querySelector("button");
  const data = new FormData();
  data.append("video", form.video.files[0]);
  data.append("max_seconds", form.max_seconds.value || "30");
  button.disabled = true;
  button.textContent = "Analysing…";
  try {
    showReport(await (await api("/v1/dms/analyse", { method: "POST", body: data })).json());
  } catch (err) {
    toast(err.message);
    if (err.status === 401 || err.status === 403) showKeyForm();
  } finally {
    button.disabled = false;
    button.textContent = "Analyse video";
  }
}

function showKeyForm() {
  const form = el("dms-key");
  form.hidden = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, form.key.value.trim());
    try { await api("/v1/dms/thresholds"); form.hidden = true; } catch (err) { toast(err.message); showKeyForm(); }
  }, { once: true });
}

document.addEventListener("DOMContentLoaded", async () => {
  el("dms-start").addEventListener("click", start);
  el("dms-stop").addEventListener("click", stop);
  el("dms-reset").addEventListener("click", () => newSession().then(() => { el("dms-alerts").replaceChildren(); }).catch((err) => toast(err.message)));
  el("dms-fps").addEventListener("change", schedule);
  el("dms-upload").addEventListener("submit", analyse);
  window.addEventListener("pagehide", () => { if (state.session) fetch(`/v1/dms/sessions/${state.session}`, { method: "DELETE", keepalive: true, headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` } }); });
  if (!sessionStorage.getItem(KEY)) { showKeyForm(); return; }
  try { await api("/v1/dms/thresholds"); } catch (err) { toast(err.message); showKeyForm(); }
});
