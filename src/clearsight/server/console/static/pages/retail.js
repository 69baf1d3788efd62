// Retail page: the daily report (footfall per hour and entrance, dwell histograms, queue
// length and wait, the day's occupancy heatmap) drawn as plain SVG and canvas from
// GET /v1/retail/report, with CSV downloads. Nothing here identifies anyone.
"use strict";

(() => {
  const { h, api, errorBox } = clearsight;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/pages/retail.css";
  document.head.append(link);

  const NS = "http://www.w3.org/2000/svg";
  const enc = encodeURIComponent;
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  // Grouped bars: one group per label, one bar per series; a title on every bar for its value.
  function barChart(labels, series, { height = 180, unit = "" } = {}) {
    const W = Math.max(320, labels.length * (series.length * 9 + 6)), H = height, pad = 28;
    const max = Math.max(1, ...series.flatMap((sr) => sr.values));
    const gw = (W - pad) / labels.length, bw = Math.max(2, (gw - 4) / series.length);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H + 18}`, class: "rt-chart", role: "img" });
    svg.append(s("line", { x1: pad, y1: H, x2: W, y2: H, class: "rt-axis" }));
    svg.append(s("text", { x: 2, y: 10, class: "rt-tick" }, `${max}${unit}`));
    labels.forEach((lab, i) => {
      series.forEach((sr, j) => {
        const v = sr.values[i] || 0, bh = (v / max) * (H - 14);
        svg.append(s("rect", { x: pad + i * gw + j * bw + 2, y: H - bh, width: bw - 1, height: bh, class: `rt-bar rt-s${j}`, "data-value": v },
          s("title", {}, `${sr.name} ${lab}: ${v}${unit}`)));
      });
      if (labels.length <= 12 || i % 3 === 0) svg.append(s("text", { x: pad + i * gw + 2, y: H + 14, class: "rt-tick" }, lab));
    });
    return svg;
  }

  function legend(names) {
    return h("p", { class: "rt-legend" }, names.map((n, j) => h("span", { class: `rt-key rt-s${j}` }, n)));
  }

  function heatCanvas(hm) {
    const rows = hm.grid.length, cols = rows ? hm.grid[0].length : 0;
    const c = h("canvas", { width: cols * 12, height: rows * 12, class: "rt-heat", id: `rt-heat-${hm.camera}`,
      "aria-label": `occupancy heatmap of ${hm.camera}` });
    const g = c.getContext("2d");
    const max = hm.max || 1;
    hm.grid.forEach((row, r) => row.forEach((v, k) => {
      if (v <= 0) { g.fillStyle = "#111"; } else {
        const u = Math.min(1, v / max);
        g.fillStyle = `hsl(${Math.round(240 - 240 * u)}, 90%, ${Math.round(25 + 35 * u)}%)`;
      }
      g.fillRect(k * 12, r * 12, 12, 12);
    }));
    return c;
  }

  async function download(path, name) {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${sessionStorage.getItem("clearsight.key") || ""}` } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const a = h("a", { href: URL.createObjectURL(await res.blob()), download: name });
    document.body.append(a);
    a.click();
    a.remove();
  }

  function footfallCard(rep) {
    const hours = [...Array(24).keys()].map((x) => String(x).padStart(2, "0"));
    const card = h("section", { class: "card", id: "rt-footfall" }, h("h2", {}, "Footfall"));
    if (!rep.footfall.length) { card.append(h("p", { class: "muted" }, "No footfall that day.")); return card; }
    const sum = (k) => hours.map((_, i) => rep.footfall.reduce((a, f) => a + f.hours[i][k], 0));
    card.append(legend(["in", "out"]), barChart(hours, [{ name: "in", values: sum("in") }, { name: "out", values: sum("out") }]));
    card.append(h("table", { class: "rt-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "camera"), h("th", {}, "line"), h("th", {}, "in"), h("th", {}, "out"))),
      h("tbody", {}, rep.footfall.map((f) => h("tr", { "data-line": f.line },
        h("td", {}, f.camera), h("td", {}, f.line), h("td", {}, f.in), h("td", {}, f.out))))));
    return card;
  }

  function dwellCard(rep) {
    const card = h("section", { class: "card", id: "rt-dwell" }, h("h2", {}, "Dwell time"));
    if (!rep.dwell.length) { card.append(h("p", { class: "muted" }, "No stays that day.")); return card; }
    for (const d of rep.dwell) {
      card.append(h("h3", {}, `${d.camera} · ${d.zone}`),
        h("p", { class: "muted" }, `${d.stays} stays, mean ${d.mean_s} s, median ${d.median_s} s`),
        barChart(d.bins, [{ name: "stays", values: d.counts }], { height: 140 }));
    }
    return card;
  }

  function queueCard(rep) {
    const card = h("section", { class: "card", id: "rt-queue" }, h("h2", {}, "Queues"));
    if (!rep.queue.length) { card.append(h("p", { class: "muted" }, "No queue measurements that day.")); return card; }
    const hours = [...Array(24).keys()].map((x) => String(x).padStart(2, "0"));
    for (const q of rep.queue) {
      card.append(h("h3", {}, `${q.camera} · ${q.zone}`), legend(["mean length", "mean wait (s)"]),
        barChart(hours, [{ name: "mean length", values: q.hours.map((x) => x.mean_length || 0) },
          { name: "mean wait", values: q.hours.map((x) => x.mean_wait_s || 0) }]));
    }
    return card;
  }

  function heatCard(rep) {
    const card = h("section", { class: "card", id: "rt-heatmaps" }, h("h2", {}, "Occupancy heatmap"),
      h("p", { class: "muted" }, "Person-seconds per floor cell (feet positions); a grid, never a picture."));
    if (!rep.heatmaps.length) card.append(h("p", { class: "muted" }, "No heatmap that day."));
    for (const hm of rep.heatmaps) card.append(h("figure", {}, heatCanvas(hm), h("figcaption", {}, `${hm.camera} · max ${hm.max} s`)));
    return card;
  }

  async function retailPage() {
    const params = new URLSearchParams((location.hash.split("?")[1]) || "");
    const day = params.get("date") || new Date().toISOString().slice(0, 10);
    const camera = params.get("camera") || "";
    const dateIn = h("input", { type: "date", name: "date", value: day, id: "rt-date" });
    const camIn = h("input", { type: "text", name: "camera", value: camera, placeholder: "all cameras", id: "rt-camera" });
    const go = () => { location.hash = `#/retail?date=${enc(dateIn.value)}${camIn.value ? `&camera=${enc(camIn.value)}` : ""}`; };
    const q = `date=${enc(day)}${camera ? `&camera=${enc(camera)}` : ""}`;
    const csv = (part) => h("button", { type: "button", class: "secondary", onclick: async (ev) => {
      try { await download(`/v1/retail/report.csv?${q}&part=${part}`, `retail-${part}-${day}.csv`); } catch (err) { ev.target.after(errorBox(err)); }
    } }, `CSV: ${part}`);
    const head = [h("h1", {}, "Retail"),
      h("form", { class: "rt-controls", onsubmit: (ev) => { ev.preventDefault(); go(); } },
        h("label", {}, "Day ", dateIn), h("label", {}, "Camera ", camIn), h("button", { type: "submit" }, "Show"),
        csv("footfall"), csv("dwell"), csv("queue"))];
    let rep;
    try { rep = await api("GET", `/v1/retail/report?${q}`); } catch (err) { return [...head, errorBox(err)]; }
    return [...head, h("p", { class: "muted", id: "rt-summary" }, `${rep.date}: ${rep.cameras.length} camera(s)`),
      h("div", { class: "rt-grid" }, footfallCard(rep), queueCard(rep), dwellCard(rep), heatCard(rep))];
  }

  // in the nav of the roles that run cameras (as the Cameras page); the report API itself needs `events:read`
  clearsight.registerPage("retail", { label: "Retail", permission: "cameras:read", render: retailPage });
})();
