// Face-pay gate simulator: the webcam is a gate. "Pass the gate" sends one frame to
// POST /v1/facepay/passages with a fresh Idempotency-Key; "Send again" resends the same
// frame with the same key, as a gate does after a timeout, and must get the same answer
// (replayed) and no second charge. A lost answer is retried with the same key.
// Also: enrol a rider from a camera frame or a photo (the rider key is shown once).
"use strict";

(() => {
  const { h, api, toast, errorBox, busy, can } = clearsight;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/pages/facepay.css";
  document.head.append(link);
  const run = { stream: null, last: null };

  function stopCamera() {
    if (run.stream) run.stream.getTracks().forEach((t) => t.stop());
    run.stream = null;
  }
  window.addEventListener("hashchange", stopCamera);
  window.addEventListener("pagehide", stopCamera);

  function money(minor, cur) { return minor === null || minor === undefined ? "–" : `${(minor / 100).toFixed(2)} ${cur || ""}`; }

  async function grab(video) {
    const c = document.createElement("canvas");
    c.width = video.videoWidth;
    c.height = video.videoHeight;
    c.getContext("2d").drawImage(video, 0, 0);
    return new Promise((r) => c.toBlob(r, "image/jpeg", 0.92));
  }

  // The gate's request: its own key, retried with the same key when the answer is lost.
  async function sendPassage(gate, blob, key) {
    for (let attempt = 0; ; attempt++) {
      const form = new FormData();
      form.append("gate_id", gate);
      form.append("image", blob, "frame.jpg");
      try {
        const res = await fetch("/v1/facepay/passages", { method: "POST", body: form, headers: {
          Authorization: `Bearer ${sessionStorage.getItem("clearsight.key") || ""}`, "Idempotency-Key": key } });
        const data = await res.json().catch(() => ({}));
        if (!res.ok) { const e = new Error(data.detail || `HTTP ${res.status}`); e.status = res.status; e.problem = data; throw e; }
        return data;
      } catch (err) {
        if (err.status || attempt >= 2) throw err; // an answer came back, or we gave up
      }
    }
  }

  function showResult(p) {
    const out = document.getElementById("fp-result");
    out.dataset.outcome = p.outcome;
    out.dataset.replayed = String(p.replayed);
    out.replaceChildren(
      h("p", { class: "fp-big" }, h("span", { class: `badge ${p.opens_gate ? "ok" : "bad"}` }, p.opens_gate ? "gate opens" : "use a ticket"),
        " ", p.message),
      h("dl", { class: "fp-facts" },
        h("dt", {}, "outcome"), h("dd", { id: "fp-outcome" }, p.outcome + (p.reason ? ` (${p.reason})` : "")),
        h("dt", {}, "fare"), h("dd", { id: "fp-fare" }, money(p.fare, p.currency)),
        h("dt", {}, "rider"), h("dd", {}, p.rider_id || "–"),
        h("dt", {}, "replayed"), h("dd", { id: "fp-replayed" }, p.replayed ? "yes: the stored answer, nothing charged again" : "no"),
        h("dt", {}, "passage"), h("dd", {}, p.id)));
  }

  async function pass(video, again) {
    const gate = document.getElementById("fp-gate").value;
    if (!gate) { toast("Add a gate first."); return; }
    if (!run.stream || video.readyState < 2) { toast("Start the camera first."); return; }
    if (!again || !run.last) run.last = { gate, blob: await grab(video), key: crypto.randomUUID() };
    const btn = document.getElementById(again ? "fp-again" : "fp-pass");
    const done = busy(btn, "Deciding…");
    try { showResult(await sendPassage(run.last.gate, run.last.blob, run.last.key)); }
    catch (err) { document.getElementById("fp-result").replaceChildren(errorBox(err)); }
    finally { done(); document.getElementById("fp-again").disabled = false; }
  }

  async function startCamera(video) {
    try {
      run.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (err) { toast(`Camera unavailable: ${err.message}`); return; }
    video.srcObject = run.stream;
    await video.play();
    video.dataset.ready = "true";
  }

  async function gateCard() {
    const video = h("video", { id: "fp-cam", class: "fp-cam", muted: true, playsinline: true, autoplay: true });
    let gates = [];
    try { gates = (await api("GET", "/v1/facepay/gates")).items; } catch (err) { return errorBox(err); }
    const select = h("select", { id: "fp-gate", "aria-label": "Gate" },
      gates.map((g) => h("option", { value: g.id }, `${g.id} · ${g.station} · ${g.direction}`)));
    const addForm = h("form", { id: "fp-add-gate", class: "fp-inline" },
      h("input", { name: "id", placeholder: "gate id", "aria-label": "New gate id", required: true, maxlength: 64 }),
      h("input", { name: "station", placeholder: "station", "aria-label": "Station", required: true, maxlength: 100 }),
      h("select", { name: "direction", "aria-label": "Direction" }, h("option", { value: "in" }, "in"), h("option", { value: "out" }, "out")),
      h("button", { type: "submit" }, "Add gate"));
    addForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = new FormData(addForm);
      try {
        const g = await api("POST", "/v1/facepay/gates", { id: f.get("id"), station: f.get("station"), direction: f.get("direction") });
        select.append(h("option", { value: g.id, selected: true }, `${g.id} · ${g.station} · ${g.direction}`));
        addForm.reset();
      } catch (err) { toast(err.message); }
    });
    return h("section", { class: "card" }, h("h2", {}, "Gate simulator"),
      h("p", { class: "muted" }, "The webcam is the gate's camera. Unsure (no match, two faces, poor quality, not live) means no gate by face and no charge."),
      h("div", { class: "fp-grid" },
        h("div", {}, video),
        h("div", {},
          h("p", {}, h("label", {}, "Gate ", select)),
          can("facepay:write") ? addForm : "",
          h("p", {},
            h("button", { id: "fp-cam-start", type: "button", onclick: () => startCamera(video) }, "Start camera"), " ",
            h("button", { id: "fp-pass", type: "button", onclick: () => pass(video, false) }, "Pass the gate"), " ",
            h("button", { id: "fp-again", type: "button", disabled: true, onclick: () => pass(video, true) }, "Send again (same key)")),
          h("div", { id: "fp-result", "aria-live": "polite" }))));
  }

  function enrolCard() {
    const name = h("input", { id: "fp-name", "aria-label": "Rider name", required: true, maxlength: 255 });
    const photo = h("input", { id: "fp-photo", type: "file", accept: "image/*", "aria-label": "Rider photo" });
    const topup = h("input", { id: "fp-topup", type: "number", min: "0", step: "1", value: "2000", "aria-label": "Initial top-up (minor units)" });
    const out = h("div", { id: "fp-enrolled", "aria-live": "polite" });
    const btn = h("button", { type: "submit" }, "Enrol rider");
    const form = h("form", { id: "fp-enrol" },
      h("p", {}, h("label", {}, "Name ", name)),
      h("p", {}, h("label", {}, "Photo (empty: a frame of the camera) ", photo)),
      h("p", {}, h("label", {}, "Initial top-up, cents ", topup)),
      h("p", { class: "muted" }, "Enrolling records the rider's facepay consent (granted by the data subject)."), btn, out);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData();
      data.append("display_name", name.value);
      data.append("top_up", String(Math.max(0, Math.floor(Number(topup.value) || 0))));
      if (photo.files[0]) data.append("photo", photo.files[0]);
      else {
        const video = document.getElementById("fp-cam");
        if (!run.stream) { toast("Choose a photo or start the camera."); return; }
        data.append("photo", await grab(video), "frame.jpg");
      }
      const done = busy(btn, "Enrolling…");
      out.replaceChildren();
      try {
        const r = await api("POST", "/v1/facepay/riders", data);
        out.dataset.rider = r.rider.id;
        out.append(h("p", {}, `Rider ${r.rider.id}, balance ${money(r.rider.balance, r.rider.currency)}.`),
          h("p", {}, "Rider key (shown once; it opens ", h("a", { href: "/console/static/facepay-rider.html" }, "the rider's own page"), "): "),
          h("code", { id: "fp-rider-key" }, r.rider_key));
      } catch (err) { out.append(errorBox(err)); } finally { done(); }
    });
    return h("section", { class: "card" }, h("h2", {}, "Enrol a rider"), form);
  }

  clearsight.registerPage("facepay", {
    label: "Face-pay",
    permission: "facepay:gate",
    render: async () => [h("h1", {}, "Face-pay gates"), await gateCard(), can("facepay:write") ? enrolCard() : ""],
  });
})();
