// Shared by the stand-alone pages (live effects, driver monitoring) that open outside
// the console shell: the console's sign-in key, element lookup, toasts, fetch that
// turns problem+json into an Error with status, code and Retry-After, and the webcam.
"use strict";

const KEY = "clearsight.key"; // shared with the console's sign-in

function el(id) { return document.getElementById(id); }

function toast(msg) {
  const t = document.createElement("div");
  t.textContent = msg;
  el("toast").append(t);
  setTimeout(() => t.remove(), 5000);
}

async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` }, opts.headers || {});
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    let code = "";
    try { const p = await res.json(); detail = p.detail || p.title || detail; code = p.code || ""; } catch (e) { /* not JSON */ }
    const err = new Error(detail);
    err.status = res.status;
    err.code = code;
    err.retryAfter = Number(res.headers.get("Retry-After") || 0);
    throw err;
  }
  return res;
}

// The webcam into <video id=videoId>: the stream, or null after a toast saying why
// (no camera, permission refused). Both pages send 640x480 frames.
async function openCamera(videoId) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    toast(`Camera unavailable: ${err.message}`);
    return null;
  }
  const video = el(videoId);
  video.srcObject = stream;
  await video.play();
  return stream;
}

function closeCamera(stream) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
}
