// Liveness page: the passive score of a photo, and an active challenge with the webcam.
// The server issues a random order of actions and a nonce; this page shows each
// prompt, sends frames (JPEG) with the nonce a few times a second and shows the
// progress, then the result and its reasons. The clock is the server's: the page
// sends no timestamps. The preview is mirrored like a mirror; the frames sent are not,
// so "turn left" means the person's own left.
"use strict";

(() => {
  const { h, api, toast, errorBox, busy } = clearsight;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/pages/liveness.css";
  document.head.append(link);

  const FPS = 6;
  const run = { stream: null, timer: null, session: null, busy: false, frames: 0 };

  function stopCamera() {
    clearInterval(run.timer);
    run.timer = null;
    if (run.stream) run.stream.getTracks().forEach((t) => t.stop());
    run.stream = null;
  }
  function endSession() {
    if (run.session) api("DELETE", `/v1/liveness/sessions/${encodeURIComponent(run.session.session_id)}`).catch(() => {});
    run.session = null;
  }
  window.addEventListener("hashchange", () => { stopCamera(); endSession(); });
  window.addEventListener("pagehide", () => { stopCamera(); endSession(); });

  function pct(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(2); }

  // -------------------------------------------------------------- passive
  function passiveCard() {
    const input = h("input", { type: "file", accept: "image/*", "aria-label": "Photo to check" });
    const out = h("div", { id: "lv-passive-out", "aria-live": "polite" });
    const btn = h("button", { type: "submit" }, "Check photo");
    const form = h("form", { id: "lv-passive" }, input, " ", btn, out);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!input.files[0]) { toast("Choose a photo first."); return; }
      const data = new FormData();
      data.append("image", input.files[0]);
      const done = busy(btn, "Checking…");
      out.replaceChildren();
      try {
        const res = await api("POST", "/v1/liveness", data);
        if (!res.faces.length) out.append(h("p", { class: "muted" }, "No face found."));
        out.append(h("ul", { class: "lv-faces" }, res.faces.map((f, i) => h("li", { "data-live": String(f.is_live) },
          h("span", { class: `badge ${f.is_live ? "ok" : "bad"}` }, f.is_live ? "live" : "not live"),
          ` face ${i + 1}: live score ${pct(f.live_score)} (${f.method}; the two networks alone ${pct(f.models.calibrated_mean)})`))));
      } catch (err) { out.append(errorBox(err)); } finally { done(); }
    });
    return h("section", { class: "card" }, h("h2", {}, "Passive check of a photo"),
      h("p", { class: "muted" }, "Trained on printed-photo attacks (NUAA); one signal, not a decision on its own."), form);
  }

  // -------------------------------------------------------------- active
  function showState(s) {
    const status = document.getElementById("lv-status");
    status.dataset.status = s.status;
    status.textContent = s.status.replace("_", " ");
    status.className = `badge ${s.status === "passed" ? "ok" : s.status === "failed" ? "bad" : "neutral"}`;
    document.getElementById("lv-prompt").textContent = s.prompt;
    const steps = document.getElementById("lv-steps");
    steps.replaceChildren(...s.steps.map((st, i) => h("li", {
      "data-action": st.action, "data-done": String(st.done), class: i === s.current_step ? "current" : "",
    }, st.prompt, st.done ? ` ✓ (${Number(st.at_s).toFixed(1)} s)` : "")));
    const reasons = document.getElementById("lv-reasons");
    reasons.replaceChildren(...(s.reasons || []).map((r) => h("li", {}, r)));
    const stats = document.getElementById("lv-stats");
    stats.dataset.frames = String(run.frames);
    stats.textContent = `${run.frames} frames sent · session live score ${pct(s.passive_live_score)}` +
      (s.frame && s.frame.face ? ` · yaw ${s.frame.face.yaw}°, pitch ${s.frame.face.pitch}°` : s.frame ? " · no face" : "");
  }

  async function sendFrame(video, grab) {
    if (run.busy || !run.session || video.readyState < 2 || !video.videoWidth) return;
    run.busy = true;
    try {
      grab.width = video.videoWidth;
      grab.height = video.videoHeight;
      grab.getContext("2d").drawImage(video, 0, 0);
      const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.9));
      const form = new FormData();
      form.append("image", blob, "frame.jpg");
      form.append("nonce", run.session.nonce);
      const s = await api("POST", `/v1/liveness/sessions/${encodeURIComponent(run.session.session_id)}/frames`, form);
      run.frames += 1;
      showState(s);
      if (s.status === "passed" || s.status === "failed") finish(s);
    } catch (err) {
      if (err.status === 404) { toast("The session ended or expired; start again."); finish(null); }
      else if (err.status === 429) toast("Rate limited: frames are sent too fast for this key.");
      else toast(err.message);
    } finally {
      run.busy = false;
    }
  }

  function finish(s) {
    stopCamera();
    document.getElementById("lv-start").disabled = false;
    document.getElementById("lv-stop").disabled = true;
    const result = document.getElementById("lv-result");
    if (s) {
      result.dataset.status = s.status;
      result.textContent = s.status === "passed" ? "Passed: every action in order, and the session looks live."
        : `Failed: ${(s.reasons || []).join("; ")}`;
    }
  }

  async function start(video) {
    const result = document.getElementById("lv-result");
    result.textContent = "";
    delete result.dataset.status;
    endSession();
    try {
      run.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (err) { toast(`Camera unavailable: ${err.message}`); return; }
    video.srcObject = run.stream;
    await video.play();
    try {
      run.session = await api("POST", "/v1/liveness/sessions", { steps: Number(document.getElementById("lv-n").value) });
    } catch (err) { stopCamera(); result.replaceChildren(errorBox(err)); return; }
    run.frames = 0;
    showState(run.session);
    document.getElementById("lv-expires").textContent = `expires ${new Date(run.session.expires).toLocaleTimeString()}`;
    document.getElementById("lv-start").disabled = true;
    document.getElementById("lv-stop").disabled = false;
    const grab = document.createElement("canvas");
    run.timer = setInterval(() => sendFrame(video, grab), 1000 / FPS);
  }

  function activeCard() {
    const video = h("video", { id: "lv-cam", class: "lv-cam", muted: true, playsinline: true, autoplay: true });
    const n = h("select", { id: "lv-n", "aria-label": "Number of actions" },
      [2, 3, 4, 5].map((k) => h("option", { value: String(k), selected: k === 3 }, `${k} actions`)));
    const startBtn = h("button", { id: "lv-start", type: "button", onclick: () => start(video) }, "Start challenge");
    const stopBtn = h("button", { id: "lv-stop", type: "button", disabled: true, onclick: () => { finish(null); endSession(); } }, "Stop");
    return h("section", { class: "card" }, h("h2", {}, "Active challenge"),
      h("p", { class: "muted" }, "Look at the camera, then do each action when asked. The order is random for every session."),
      h("div", { class: "lv-grid" },
        h("div", {}, video),
        h("div", {},
          h("p", {}, n, " ", startBtn, " ", stopBtn),
          h("p", {}, h("span", { id: "lv-status", class: "badge neutral", "data-status": "idle" }, "idle"), " ",
            h("span", { id: "lv-expires", class: "muted" })),
          h("p", { id: "lv-prompt", class: "lv-prompt", "aria-live": "assertive" }, "Press Start"),
          h("ol", { id: "lv-steps" }),
          h("p", { id: "lv-result", "aria-live": "polite" }),
          h("ul", { id: "lv-reasons", class: "lv-reasons" }),
          h("p", { id: "lv-stats", class: "muted", "data-frames": "0" }))));
  }

  clearsight.registerPage("liveness", {
    label: "Liveness",
    permission: "faces:analyze",
    render: async () => [h("h1", {}, "Liveness"), activeCard(), passiveCard()],
  });
})();
