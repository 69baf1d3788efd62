// Traffic page: counts per class over time and incidents with snapshots (from the event
// store), licence-plate search and hot-lists (personal data: every search and crop view
// is audited server-side), and a calibration helper that turns 4 clicked image points and
// their typed ground coordinates into the `calibration` section of a camera file.
"use strict";

(() => {
  const { h, api, toast, errorBox, busy, can } = clearsight;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/pages/traffic.css";
  document.head.append(link);

  const enc = encodeURIComponent;
  const HOTLIST_PURPOSES = ["access", "parking", "tolling", "enforcement", "safety"];
  const INCIDENTS = ["vehicle.*", "traffic.congestion", "pedestrian.*", "plate.hotlist_match"];
  const COUNTED = ["traffic.crossing", "line.cross"];
  const WINDOWS = [["1 hour", 3600], ["6 hours", 6 * 3600], ["24 hours", 86400], ["7 days", 7 * 86400]];
  const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"];
  const keyHeader = () => ({ Authorization: `Bearer ${sessionStorage.getItem("clearsight.key") || ""}` });

  async function blobUrl(path) {
    const res = await fetch(path, { headers: keyHeader() });
    return res.ok ? URL.createObjectURL(await res.blob()) : null;
  }

  async function events(type, camera, since) {
    const cam = camera ? `&camera=${enc(camera)}` : "";
    return (await api("GET", `/v1/events?type=${enc(type)}&since=${since}&limit=1000${cam}`)).items;
  }

  // ------------------------------------------------------------ counts per class over time
  function bucketSize(span) { return span <= 3600 ? 300 : span <= 6 * 3600 ? 900 : span <= 86400 ? 3600 : 6 * 3600; }

  function countsChart(items, since, span) {
    const step = bucketSize(span);
    const n = Math.ceil(span / step);
    const classes = [...new Set(items.map((e) => (e.data && e.data.class) || "unclassified"))].sort();
    const grid = Array.from({ length: n }, () => Object.fromEntries(classes.map((c) => [c, 0])));
    for (const e of items) {
      const i = Math.min(n - 1, Math.max(0, Math.floor((e.time - since) / step)));
      grid[i][(e.data && e.data.class) || "unclassified"] += 1;
    }
    const max = Math.max(1, ...grid.map((b) => Object.values(b).reduce((a, x) => a + x, 0)));
    const W = 720, H = 180, bw = W / n;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H + 18}`);
    svg.setAttribute("class", "tr-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "crossings per class over time");
    grid.forEach((b, i) => {
      let y = H;
      classes.forEach((c, ci) => {
        if (!b[c]) return;
        const hgt = (b[c] / max) * (H - 4);
        y -= hgt;
        const r = document.createElementNS(ns, "rect");
        for (const [k, v] of Object.entries({ x: i * bw + 1, y, width: Math.max(1, bw - 2), height: hgt, fill: COLOURS[ci % COLOURS.length] })) r.setAttribute(k, v);
        const t = document.createElementNS(ns, "title");
        t.textContent = `${new Date((since + i * step) * 1000).toLocaleString()}: ${b[c]} ${c}`;
        r.append(t);
        svg.append(r);
      });
    });
    const totals = Object.fromEntries(classes.map((c) => [c, grid.reduce((a, b) => a + b[c], 0)]));
    const legend = h("ul", { class: "tr-legend" }, classes.map((c, ci) =>
      h("li", { "data-class": c }, h("span", { class: "tr-swatch", style: `background:${COLOURS[ci % COLOURS.length]}` }), `${c}: `, h("strong", {}, String(totals[c])))));
    return [svg, legend, h("p", { class: "muted" }, `${items.length} crossings; bars of ${step / 60} min, newest on the right.`)];
  }

  async function countsCard(camera, span) {
    const card = h("section", { class: "card", id: "tr-counts" }, h("h2", {}, "Counts per class"));
    const since = Math.floor(Date.now() / 1000) - span;
    try {
      const items = (await Promise.all(COUNTED.map((t) => events(t, camera, since)))).flat();
      if (!items.length) card.append(h("p", { class: "muted" }, "No line crossings in this window. Add counting lines to a camera with the traffic analyser."));
      else card.append(...countsChart(items, since, span));
    } catch (err) { card.append(errorBox(err)); }
    return card;
  }

  // ------------------------------------------------------------ incidents with snapshots
  function incidentRow(e) {
    const d = e.data || {};
    const img = h("img", { class: "tr-snap", alt: `snapshot of ${e.type}`, hidden: true });
    if (e.has_snapshot) blobUrl(`/v1/events/${e.id}/snapshot`).then((u) => { if (u) { img.src = u; img.hidden = false; } });
    const bits = [d.class, d.zone && `zone ${d.zone}`, d.speed_kmh != null && `${d.speed_kmh} km/h`,
      d.limit_kmh != null && `limit ${d.limit_kmh}`, d.duration_s != null && `${d.duration_s} s`, d.state,
      d.text && `plate ${d.text}`, d.hotlist && `hot-list ${d.hotlist}`].filter(Boolean);
    const kind = /wrong_way|speeding|hotlist|in_roadway|collision/.test(e.type) ? "bad" : "warn";
    return h("li", { class: "tr-incident", "data-type": e.type }, img,
      h("div", {}, h("span", { class: `badge ${kind}` }, e.type), " ", h("strong", {}, e.camera), " ",
        h("span", { class: "muted" }, new Date(e.time * 1000).toLocaleString()),
        h("div", { class: "muted" }, bits.join(" · "))));
  }

  async function incidentsCard(camera, span) {
    const list = h("ol", { class: "tr-incidents", id: "tr-incidents" });
    const card = h("section", { class: "card" }, h("h2", {}, "Incidents"), list);
    const since = Math.floor(Date.now() / 1000) - span;
    try {
      const items = (await Promise.all(INCIDENTS.map((t) => events(t, camera, since)))).flat()
        .filter((e) => e.type !== "vehicle.speed").sort((a, b) => b.time - a.time).slice(0, 100);
      if (!items.length) list.replaceWith(h("p", { class: "muted" }, "No incidents in this window."));
      else list.append(...items.map(incidentRow));
    } catch (err) { card.append(errorBox(err)); }
    return card;
  }

  // ------------------------------------------------------------ plate search
  function plateSearchCard(camera) {
    const out = h("div", { id: "tr-plate-results" });
    const form = h("form", { id: "tr-plate-search", class: "tr-row" },
      h("label", {}, "Plate ", h("input", { name: "q", required: true, maxlength: 40, placeholder: "AB?12*", "aria-label": "plate pattern" })),
      h("label", {}, "From ", h("input", { name: "since", type: "datetime-local" })),
      h("label", {}, "To ", h("input", { name: "until", type: "datetime-local" })),
      h("button", { type: "submit" }, "Search plates"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const qs = new URLSearchParams({ q: f.get("q"), limit: "200" });
      if (camera) qs.set("camera", camera);
      for (const k of ["since", "until"]) if (f.get(k)) qs.set(k, new Date(f.get(k)).toISOString());
      const done = busy(form.querySelector("button"), "Searching…");
      try {
        const page = await api("GET", `/v1/plates/reads?${qs}`);
        if (!page.items.length) { out.replaceChildren(h("p", { class: "muted" }, `No reads match ${page.pattern}.`)); return; }
        out.replaceChildren(h("table", { class: "tr-reads" },
          h("thead", {}, h("tr", {}, ["Plate", "Country", "Camera", "Time", "Confidence", "Votes", "Crop"].map((t) => h("th", {}, t)))),
          h("tbody", {}, page.items.map((r) => {
            const cell = h("td", {});
            if (r.has_crop) {
              // showing a crop is an export of personal data: fetched (and audited) only on request
              const b = h("button", { type: "button", class: "ghost" }, "Show");
              b.addEventListener("click", async () => {
                const u = await blobUrl(`/v1/plates/reads/${r.id}/crop`);
                cell.replaceChildren(u ? h("img", { class: "tr-crop", src: u, alt: `plate ${r.text}` }) : "unavailable");
              });
              cell.append(b);
            }
            return h("tr", { "data-plate": r.text }, h("td", {}, h("code", {}, r.text)), h("td", {}, r.country), h("td", {}, r.camera),
              h("td", {}, new Date(r.at).toLocaleString()), h("td", {}, `${Math.round(r.confidence * 100)}%`), h("td", {}, String(r.votes)), cell);
          }))),
          h("p", { class: "muted" }, "This search is recorded in the audit log."));
      } catch (err) { out.replaceChildren(errorBox(err)); } finally { done(); }
    });
    return h("section", { class: "card" }, h("h2", {}, "Plate search"),
      h("p", { class: "muted" }, "? stands for one character, * for any run. Reads expire by retention."), form, out);
  }

  // ------------------------------------------------------------ hot-lists
  function hotlistCard() {
    const list = h("div", { id: "tr-hotlists" });
    const writable = can("plates:hotlists_write");
    async function load() {
      try {
        const page = await api("GET", "/v1/plates/hotlists");
        if (!page.items.length) { list.replaceChildren(h("p", { class: "muted" }, "No hot-lists. A plate alerts only when it is on one.")); return; }
        list.replaceChildren(...page.items.map((hl) => {
          const plates = h("ul", { class: "tr-plates" }, hl.plates.map((p) => h("li", {}, h("code", {}, p),
            writable ? h("button", { type: "button", class: "link", "aria-label": `remove ${p}`, onclick: async () => {
              try { await api("DELETE", `/v1/plates/hotlists/${hl.id}/plates/${enc(p)}`); load(); } catch (err) { list.prepend(errorBox(err)); }
            } }, "×") : null)));
          const add = h("form", { class: "tr-row" }, h("input", { name: "plate", placeholder: "add plates (comma separated)", "aria-label": `add plates to ${hl.name}` }),
            h("button", { type: "submit", class: "ghost" }, "Add"));
          add.addEventListener("submit", async (ev) => {
            ev.preventDefault();
            const ps = String(new FormData(add).get("plate") || "").split(",").map((s) => s.trim()).filter(Boolean);
            try { await api("POST", `/v1/plates/hotlists/${hl.id}/plates`, { plates: ps }); load(); } catch (err) { add.append(errorBox(err)); }
          });
          const del = h("button", { type: "button", class: "danger" }, "Delete list");
          del.addEventListener("click", async () => {
            if (!confirm(`Delete hot-list ${hl.name}?`)) return;
            try { await api("DELETE", `/v1/plates/hotlists/${hl.id}`); toast(`Deleted ${hl.name}`); load(); } catch (err) { list.prepend(errorBox(err)); }
          });
          return h("article", { class: "tr-hotlist", "data-hotlist": hl.name },
            h("h3", {}, hl.name, " ", h("span", { class: `badge ${hl.alert ? "warn" : "neutral"}` }, hl.alert ? "alerting" : "silent")),
            h("p", { class: "muted" }, `${hl.purpose} · legal basis: ${hl.legal_basis} · expires: ${hl.expires_at ? new Date(hl.expires_at).toLocaleDateString() : "never"}`),
            plates, writable ? add : null, writable ? del : null);
        }));
      } catch (err) { list.replaceChildren(errorBox(err)); }
    }
    const form = h("form", { id: "tr-hotlist-form", class: "tr-form" },
      h("label", {}, "Name", h("input", { name: "name", required: true, maxlength: 100 })),
      h("label", {}, "Purpose", h("select", { name: "purpose" }, HOTLIST_PURPOSES.map((p) => h("option", { value: p }, p)))),
      h("label", {}, "Legal basis (required)", h("input", { name: "legal_basis", placeholder: "e.g. police request 2026/114" })),
      h("label", {}, "Expires", h("input", { name: "expires_at", type: "date" })),
      h("label", {}, "Plates", h("textarea", { name: "plates", rows: 2, placeholder: "AB123CD, XY999" })),
      h("button", { type: "submit" }, "Create hot-list"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const body = { name: f.get("name"), purpose: f.get("purpose"), legal_basis: f.get("legal_basis"),
        plates: String(f.get("plates") || "").split(/[,\n]/).map((s) => s.trim()).filter(Boolean) };
      if (f.get("expires_at")) body.expires_at = new Date(f.get("expires_at")).toISOString();
      form.querySelectorAll(".error").forEach((e) => e.remove());
      try { await api("POST", "/v1/plates/hotlists", body); form.reset(); toast(`Created ${body.name}`); load(); }
      catch (err) { form.append(errorBox(err)); }
    });
    load();
    return h("section", { class: "card" }, h("h2", {}, "Hot-lists"), list, writable ? h("details", {}, h("summary", {}, "New hot-list"), form) : null);
  }

  // ------------------------------------------------------------ calibration helper
  function collinear(p, q, r) {
    const area = Math.abs((q.x - p.x) * (r.y - p.y) - (r.x - p.x) * (q.y - p.y)) / 2;
    const span = Math.max(Math.hypot(q.x - p.x, q.y - p.y), Math.hypot(r.x - p.x, r.y - p.y), Math.hypot(r.x - q.x, r.y - q.y));
    return area < 0.01 * span * span; // the triangle is a sliver: the three are (nearly) on one line
  }

  function calibrationCard(cameras) {
    const canvas = h("canvas", { id: "tr-calib-canvas", class: "tr-calib", hidden: true });
    const rows = h("tbody", {});
    const yaml = h("textarea", { id: "tr-calib-yaml", rows: 12, readonly: true, "aria-label": "calibration YAML" });
    const warn = h("p", { class: "muted", id: "tr-calib-note" }, "Load a frame, then click 4 points on the road (e.g. lane-marking corners).");
    let img = null;
    let pts = [];
    function draw() {
      if (!img) return;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      const s = canvas.width / img.naturalWidth;
      ctx.lineWidth = 2; ctx.font = "bold 16px sans-serif";
      pts.forEach((p, i) => {
        ctx.strokeStyle = ctx.fillStyle = "#ffeb3b";
        ctx.beginPath(); ctx.arc(p.x * s, p.y * s, 6, 0, 2 * Math.PI); ctx.stroke();
        ctx.fillText(String(i + 1), p.x * s + 8, p.y * s - 8);
      });
      if (pts.length > 1) {
        ctx.beginPath(); pts.forEach((p, i) => (i ? ctx.lineTo(p.x * s, p.y * s) : ctx.moveTo(p.x * s, p.y * s)));
        if (pts.length === 4) ctx.closePath();
        ctx.stroke();
      }
    }
    function update() {
      draw();
      rows.replaceChildren(...pts.map((p, i) => h("tr", {}, h("td", {}, String(i + 1)), h("td", {}, `${Math.round(p.x)}, ${Math.round(p.y)}`),
        h("td", {}, h("input", { type: "number", step: "any", value: p.gx, "aria-label": `point ${i + 1} ground x (m)`, oninput: (e) => { p.gx = e.target.value; render(); } })),
        h("td", {}, h("input", { type: "number", step: "any", value: p.gy, "aria-label": `point ${i + 1} ground y (m)`, oninput: (e) => { p.gy = e.target.value; render(); } })))));
      render();
    }
    function render() {
      if (pts.length < 4) { yaml.value = ""; warn.textContent = `Click ${4 - pts.length} more point${pts.length === 3 ? "" : "s"} on the frame.`; return; }
      const bad = [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]].find(([a, b, c]) => collinear(pts[a], pts[b], pts[c]));
      if (bad) { yaml.value = ""; warn.textContent = `Points ${bad.map((i) => i + 1).join(", ")} are on one line: move one of them.`; return; }
      const missing = pts.findIndex((p) => p.gx === "" || p.gy === "" || !isFinite(Number(p.gx)) || !isFinite(Number(p.gy)));
      if (missing >= 0) { yaml.value = ""; warn.textContent = `Type the ground coordinates (metres) of point ${missing + 1}.`; return; }
      const ground = pts.map((p) => `${Number(p.gx)},${Number(p.gy)}`);
      if (new Set(ground).size < 4) { yaml.value = ""; warn.textContent = "Two points have the same ground coordinates."; return; }
      warn.textContent = "Paste this into the camera file (it goes under analysers: traffic:).";
      yaml.value = ["calibration:", `  image_size: [${img.naturalWidth}, ${img.naturalHeight}]`, "  points:",
        ...pts.map((p) => `    - {image: [${Math.round(p.x)}, ${Math.round(p.y)}], ground: [${Number(p.gx)}, ${Number(p.gy)}]}`)].join("\n") + "\n";
    }
    function show(source) {
      const im = new Image();
      im.onload = () => {
        img = im; pts = [];
        const scale = Math.min(1, 720 / im.naturalWidth);
        canvas.width = Math.round(im.naturalWidth * scale); canvas.height = Math.round(im.naturalHeight * scale);
        canvas.hidden = false; update();
      };
      im.onerror = () => { warn.textContent = "That file is not an image the browser can show."; };
      im.src = source;
    }
    canvas.addEventListener("click", (ev) => {
      if (!img || pts.length >= 4) return;
      const r = canvas.getBoundingClientRect();
      const x = ((ev.clientX - r.left) / r.width) * img.naturalWidth, y = ((ev.clientY - r.top) / r.height) * img.naturalHeight;
      pts.push({ x, y, gx: "", gy: "" });
      update();
    });
    const file = h("input", { type: "file", accept: "image/*", "aria-label": "frame image" });
    file.addEventListener("change", () => { if (file.files[0]) show(URL.createObjectURL(file.files[0])); });
    const camSel = h("select", { "aria-label": "camera to grab a frame from" }, cameras.map((c) => h("option", { value: c }, c)));
    const grab = h("button", { type: "button", class: "ghost" }, "Grab frame");
    grab.addEventListener("click", async () => {
      // a running camera's live view: draw its current picture and close the stream
      const done = busy(grab, "Grabbing…");
      try {
        const t = (await api("POST", "/v1/stream-tickets")).ticket;
        const live = new Image();
        live.src = `/v1/cameras/${enc(camSel.value)}/live.mjpeg?ticket=${enc(t)}`;
        const t0 = Date.now();
        while (!live.naturalWidth && Date.now() - t0 < 8000) await new Promise((r) => setTimeout(r, 200));
        if (!live.naturalWidth) throw new Error("no picture from that camera: is it running?");
        const c = h("canvas", {}); c.width = live.naturalWidth; c.height = live.naturalHeight;
        c.getContext("2d").drawImage(live, 0, 0);
        live.src = "";
        show(c.toDataURL("image/jpeg", 0.9));
      } catch (err) { warn.replaceChildren(errorBox(err)); } finally { done(); }
    });
    const undo = h("button", { type: "button", class: "ghost" }, "Undo point");
    undo.addEventListener("click", () => { pts.pop(); update(); });
    const copy = h("button", { type: "button", class: "ghost" }, "Copy YAML");
    copy.addEventListener("click", async () => { try { await navigator.clipboard.writeText(yaml.value); toast("Copied"); } catch (e) { yaml.select(); } });
    return h("section", { class: "card", id: "tr-calibration" }, h("h2", {}, "Calibration helper"),
      h("div", { class: "tr-row" }, h("label", {}, "Frame from a file ", file),
        cameras.length ? h("span", {}, " or from ", camSel, " ", grab) : null, " ", undo),
      canvas, warn,
      h("table", { class: "tr-points" }, h("thead", {}, h("tr", {}, ["#", "image (px)", "ground x (m)", "ground y (m)"].map((t) => h("th", {}, t)))), rows),
      yaml, copy);
  }

  // ------------------------------------------------------------ the page
  async function trafficPage() {
    let cameras = [];
    if (can("cameras:read")) { try { cameras = (await api("GET", "/v1/cameras")).map((c) => c.name); } catch (e) { cameras = []; } }
    const camera = sessionStorage.getItem("clearsight.traffic.camera") || "";
    const span = Number(sessionStorage.getItem("clearsight.traffic.span") || 86400);
    const camSel = h("select", { id: "tr-camera", "aria-label": "camera" }, h("option", { value: "" }, "all cameras"),
      cameras.map((c) => h("option", { value: c, selected: c === camera }, c)));
    const spanSel = h("select", { id: "tr-span", "aria-label": "time window" }, WINDOWS.map(([l, s]) => h("option", { value: s, selected: s === span }, `last ${l}`)));
    const body = h("div", { class: "tr-grid" });
    async function fill() {
      const cam = camSel.value, sp = Number(spanSel.value);
      sessionStorage.setItem("clearsight.traffic.camera", cam);
      sessionStorage.setItem("clearsight.traffic.span", String(sp));
      const left = [await countsCard(cam, sp), await incidentsCard(cam, sp)];
      const right = [];
      if (can("plates:search")) right.push(plateSearchCard(cam));
      if (can("plates:hotlists_read")) right.push(hotlistCard());
      body.replaceChildren(h("div", {}, left), h("div", {}, right));
    }
    camSel.addEventListener("change", fill);
    spanSel.addEventListener("change", fill);
    await fill();
    return [h("h1", {}, "Traffic"), h("div", { class: "tr-row" }, camSel, spanSel), body, calibrationCard(cameras)];
  }

  clearsight.registerPage("traffic", { label: "Traffic", permission: "cameras:read", render: trafficPage });
})();
