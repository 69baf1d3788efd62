// Cameras page: add/edit/remove cameras, start/stop them, watch one live (MJPEG with
// overlays), follow the event timeline (stored events + live ones over SSE, with
// snapshots) and edit the alert rules.
// <img> and EventSource cannot send the API key in a header: they use a short-lived
// ticket from POST /v1/stream-tickets instead, so the key never appears in a URL.
"use strict";

(() => {
  const { h, api, toast, errorBox, busy, can } = clearsight;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/pages/cameras.css";
  document.head.append(link);

  let cleanups = [];
  function cleanup() { for (const fn of cleanups.splice(0)) { try { fn(); } catch (e) { /* already gone */ } } }
  window.addEventListener("hashchange", cleanup);

  const enc = encodeURIComponent;
  async function ticket() { return (await api("POST", "/v1/stream-tickets")).ticket; }

  // Stored snapshots need the key: fetch with the header, show as a blob URL.
  async function snapshotUrl(id) {
    const res = await fetch(`/v1/events/${id}/snapshot`, {
      headers: { Authorization: `Bearer ${sessionStorage.getItem("clearsight.key") || ""}` },
    });
    if (!res.ok) return null;
    return URL.createObjectURL(await res.blob());
  }

  function summary(e) {
    const d = e.data || {};
    const bits = [];
    if (d.rule) bits.push(`rule ${d.rule}`);
    if (d.trigger) bits.push(`after ${d.trigger}`);
    if (d.zone) bits.push(`zone ${d.zone}`);
    if (d.identity_name || d.name) bits.push(String(d.identity_name || d.name));
    if (d.duration_s !== undefined) bits.push(`${Number(d.duration_s).toFixed(1)} s`);
    if (d.score !== undefined) bits.push(`score ${d.score}`);
    if (d.severity) bits.push(d.severity);
    if (e.track_ids && e.track_ids.length) bits.push(`track ${e.track_ids.join(", ")}`);
    return bits.join(" · ");
  }

  // where in the source: m:ss.s from its start (files: the container's clock)
  function clock(s) {
    const m = Math.floor(s / 60);
    return `${m}:${(s - 60 * m).toFixed(1).padStart(4, "0")}`;
  }

  function eventRow(e, snapSrc) {
    const img = h("img", { class: "cam-snap", alt: `snapshot of ${e.type}`, hidden: !snapSrc });
    if (snapSrc) img.src = snapSrc;
    else if (e.has_snapshot && e.id) snapshotUrl(e.id).then((u) => { if (u) { img.src = u; img.hidden = false; } });
    const kind = e.type === "alert" ? (e.data && e.data.severity === "critical" ? "bad" : "warn") : "neutral";
    return h("li", { class: "cam-event", "data-type": e.type },
      img,
      h("div", {},
        h("span", { class: `badge ${kind}` }, e.type), " ",
        h("strong", {}, e.camera), " ",
        h("span", { class: "muted" }, new Date(e.time * 1000).toLocaleTimeString()),
        e.offset_s !== null && e.offset_s !== undefined
          ? h("span", { class: "muted", title: `frame ${e.frame}` }, ` · at ${clock(e.offset_s)}`) : null,
        h("div", { class: "muted" }, summary(e))));
  }

  // The timeline: the newest stored events, then live ones as they arrive.
  async function timeline(cameraFilter) {
    const list = h("ol", { class: "cam-timeline", id: "cam-timeline", "aria-live": "polite" });
    const state = h("p", { class: "muted" }, "Connecting to the live event stream…");
    const card = h("section", { class: "card" }, h("h2", {}, "Events"), state, list);
    try {
      const q = cameraFilter ? `&camera=${enc(cameraFilter)}` : "";
      const page = await api("GET", `/v1/events?limit=30${q}`);
      list.append(...page.items.map((e) => eventRow(e)));
    } catch (err) { card.append(errorBox(err)); }
    let es = null;
    let closed = false;
    async function connect() {
      if (closed) return;
      try {
        const t = await ticket();
        const q = cameraFilter ? `&camera=${enc(cameraFilter)}` : "";
        es = new EventSource(`/v1/events/stream?ticket=${enc(t)}${q}`);
      } catch (err) { state.textContent = `Live events unavailable: ${err.message}`; return; }
      es.onopen = () => { state.textContent = "Live: new events appear at the top."; };
      es.onerror = () => {
        // a ticket expires after a while: get a new one and reconnect
        state.textContent = "Live stream interrupted; reconnecting…";
        es.close();
        setTimeout(connect, 3000);
      };
      es.onmessage = null;
      const onEvent = (msg) => {
        let e;
        try { e = JSON.parse(msg.data); } catch (x) { return; }
        const snap = e.snapshot_jpeg_b64 ? `data:image/jpeg;base64,${e.snapshot_jpeg_b64}` : null;
        list.prepend(eventRow(e, snap));
        while (list.children.length > 100) list.lastChild.remove();
      };
      // every type the engine or an analyser can emit (SSE names each message by its type)
      for (const type of await eventTypeNames()) es.addEventListener(type, onEvent);
    }
    connect();
    cleanups.push(() => { closed = true; if (es) es.close(); });
    return card;
  }

  // ------------------------------------------------------------- camera form
  const SOURCE_HINT = "a video file or image folder on the server (absolute path), rtsp://…, http(s)://…, or webcam:0";

  function cameraForm(existing, detectors, onSaved) {
    const cfg = existing ? existing.config : null;
    const zones = cfg ? cfg.zones : [];
    const opts = cfg ? cfg.source_options : {};
    const field = (label, input, hint) => h("label", {}, label, input, hint ? h("span", { class: "hint" }, hint) : null);
    const name = h("input", { type: "text", name: "name", required: true, value: cfg ? cfg.name : "", disabled: !!cfg,
      pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}" });
    const source = h("input", { type: "text", name: "source", required: true, value: cfg ? String(cfg.source) : "" });
    const detector = h("select", { name: "detector" },
      detectors.map((d) => h("option", { value: d, selected: (cfg ? cfg.detect.detector : "mediapipe") === d }, d)));
    const everyN = h("input", { type: "number", name: "every_n", min: 1, max: 100, value: cfg ? cfg.detect.every_n : 2 });
    const realtime = h("input", { type: "checkbox", name: "realtime", checked: cfg ? opts.realtime !== false : true });
    const loop = h("input", { type: "checkbox", name: "loop", checked: cfg ? !!opts.loop : false });
    const startNow = h("input", { type: "checkbox", name: "start", checked: !cfg });
    const zonesText = h("textarea", { name: "zones", rows: 5, spellcheck: "false" },
      JSON.stringify(zones, null, 1));
    const errors = h("div", { role: "alert" });
    const save = h("button", { type: "submit" }, cfg ? "Save changes" : "Add camera");
    const form = h("form", { class: "card", id: "camera-form" },
      h("h2", {}, cfg ? `Edit camera ${cfg.name}` : "Add a camera"),
      h("div", { class: "grid2" },
        field("Name", name, cfg ? "cannot be changed" : "letters, digits, . _ -"),
        field("Source", source, SOURCE_HINT),
        field("Detector", detector, "mediapipe / centerface / dlib-hog find faces; opencv-hog-people finds people"),
        field("Detect every N frames", everyN, "higher = lighter on the CPU")),
      h("label", { class: "check" }, realtime, " Play files at their real speed (like a live camera)"),
      h("label", { class: "check" }, loop, " Loop files"),
      cfg ? null : h("label", { class: "check" }, startNow, " Start now"),
      field("Zones (JSON)", zonesText,
        'e.g. [{"name": "door", "polygon": [[0.7,0.2],[1,0.2],[1,1],[0.7,1]], "normalized": true, "dwell_s": 20}] — x,y from 0 to 1'),
      errors,
      h("div", { class: "row" }, save,
        h("button", { type: "button", class: "ghost", onclick: () => form.remove() }, "Cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      errors.replaceChildren();
      let zoneList;
      try {
        zoneList = zonesText.value.trim() ? JSON.parse(zonesText.value) : [];
      } catch (e) { errors.append(h("p", { class: "error" }, `Zones: not valid JSON (${e.message})`)); return; }
      const body = {
        ...(cfg || {}),
        name: cfg ? cfg.name : name.value.trim(),
        source: source.value.trim(),
        detect: { ...(cfg ? cfg.detect : {}), detector: detector.value, every_n: Number(everyN.value) || 1 },
        source_options: { ...(cfg ? opts : {}), realtime: realtime.checked, loop: loop.checked },
        zones: zoneList,
      };
      const done = busy(save, "Saving…");
      try {
        if (cfg) await api("PUT", `/v1/cameras/${enc(cfg.name)}`, body);
        else await api("POST", `/v1/cameras?start=${startNow.checked}`, body);
        toast(cfg ? `Saved ${body.name}` : `Added ${body.name}`);
        form.remove();
        onSaved(body.name);
      } catch (err) {
        errors.append(errorBox(err));
        const list = (err.problem && err.problem.errors) || [];
        if (list.length) {
          errors.append(h("ul", { class: "error" }, list.map((e) =>
            h("li", {}, `${e.loc.filter((p) => p !== "body").join(".")}: ${e.msg}`))));
        }
      } finally { done(); }
    });
    return form;
  }

  // ------------------------------------------------------------- event types
  let eventTypesCache = null;
  async function eventTypes() {
    if (!eventTypesCache) eventTypesCache = await api("GET", "/v1/rules/event-types");
    return eventTypesCache;
  }
  async function eventTypeNames() {
    try { return (await eventTypes()).map((t) => t.type); } catch (e) {
      return ["face.seen", "track.start", "track.end", "zone.enter", "zone.exit", "zone.dwell", "line.cross",
        "camera.down", "camera.up", "alert"];
    }
  }

  // ------------------------------------------------------------- rules editor
  async function rulesEditor() {
    const text = h("textarea", { id: "rules-text", rows: 12, spellcheck: "false", "aria-label": "Rules (JSON)" });
    const errors = h("div", { role: "alert" });
    const save = h("button", { type: "button" }, "Save rules");
    const card = h("section", { class: "card" },
      h("h2", {}, "Alert rules"),
      h("p", { class: "muted" },
        "Rules run over every camera's events and raise an ",
        h("code", {}, "alert"),
        ' event. Example: {"rules": [{"name": "loitering", "when": {"type": "zone.dwell", "zone": "door", "min_duration": 30}, "cooldown_s": 300, "severity": "critical"}]}. ',
        "Conditions: type (globs like zone.*), camera, zone, fields ({path: {gte: 0.6}}), min_duration, count {at_least, within_s}."),
      text, errors, h("div", { class: "row" }, save));
    try {
      text.value = JSON.stringify(await api("GET", "/v1/rules"), null, 2);
      const types = await eventTypes();
      card.append(h("details", { id: "event-types" },
        h("summary", {}, `Event types a rule may name (${types.length})`),
        h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "type"), h("th", {}, "from"), h("th", {}, "meaning"),
          h("th", {}, "cameras emitting it"))),
        h("tbody", {}, types.map((t) => h("tr", {}, h("td", {}, h("code", {}, t.type)), h("td", {}, t.source),
          h("td", {}, t.meaning), h("td", { class: "muted" }, t.cameras.join(", ") || "none yet")))))));
    } catch (err) { errors.append(errorBox(err)); }
    if (!can("cameras:write")) { text.readOnly = true; save.hidden = true; }
    save.addEventListener("click", async () => {
      errors.replaceChildren();
      let body;
      try { body = JSON.parse(text.value || "{}"); } catch (e) {
        errors.append(h("p", { class: "error" }, `Not valid JSON: ${e.message}`)); return;
      }
      if (Array.isArray(body)) body = { rules: body };
      const done = busy(save, "Saving…");
      try {
        const saved = await api("PUT", "/v1/rules", body);
        const warnings = saved.warnings || [];
        delete saved.warnings;
        text.value = JSON.stringify(saved, null, 2);
        toast(`Saved ${saved.rules.length} rule(s)`);
        if (warnings.length) {
          errors.append(h("ul", { class: "warning", id: "rules-warnings" }, warnings.map((w) => h("li", {}, w))));
        }
      } catch (err) {
        errors.append(errorBox(err));
        const list = (err.problem && err.problem.errors) || [];
        if (list.length) {
          errors.append(h("ul", { class: "error", id: "rules-errors" }, list.map((e) =>
            h("li", {}, `${e.loc.filter((p) => p !== "body").join(".")}: ${e.msg}`))));
        }
      } finally { done(); }
    });
    return card;
  }

  // ------------------------------------------------------------- the page
  async function camerasPage() {
    cleanup();
    const writable = can("cameras:write");
    let detectors = ["mediapipe", "centerface", "dlib-hog", "opencv-hog-people"];
    try { detectors = (await api("GET", "/v1/camera-detectors")).detectors; } catch (e) { /* keep the defaults */ }
    const formSlot = h("div", {});
    const liveImg = h("img", { class: "cam-live", id: "cam-live", alt: "" , hidden: true });
    const liveTitle = h("h2", {}, "Live view");
    const liveNote = h("p", { class: "muted" }, "Choose “Watch” on a running camera.");
    const liveCard = h("section", { class: "card" }, liveTitle, liveNote, liveImg);
    let watching = null;
    function stopLive() { liveImg.removeAttribute("src"); liveImg.hidden = true; watching = null; }
    cleanups.push(stopLive);
    async function watch(name) {
      try {
        const t = await ticket();
        watching = name;
        liveTitle.textContent = `Live view: ${name}`;
        liveNote.textContent = "Boxes, track ids, zones and lines are drawn by the server.";
        liveImg.alt = `Live view of camera ${name}`;
        liveImg.hidden = false;
        liveImg.src = `/v1/cameras/${enc(name)}/live.mjpeg?ticket=${enc(t)}&_=${Date.now()}`;
      } catch (err) { liveCard.append(errorBox(err)); }
    }
    liveImg.addEventListener("error", () => {
      if (watching) liveNote.textContent = `The live view of ${watching} ended (camera stopped or file finished).`;
    });

    const tbody = h("tbody", {});
    const table = h("div", { class: "table-wrap" }, h("table", { id: "cameras" },
      h("thead", {}, h("tr", {}, ["Camera", "Source", "State", "fps", "Frames", "Events", ""].map((c) => h("th", {}, c)))),
      tbody));
    async function refresh() {
      let cams;
      try { cams = await api("GET", "/v1/cameras"); } catch (err) { tbody.replaceChildren(h("tr", {}, h("td", { colspan: 7 }, errorBox(err)))); return; }
      if (!cams.length) {
        tbody.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "muted" },
          writable ? "No cameras yet: “Add a camera” and give it a video file or a stream URL." : "No cameras yet.")));
        return;
      }
      tbody.replaceChildren(...cams.map((c) => {
        const s = c.status;
        const total = Object.values(s.events || {}).reduce((a, b) => a + b, 0);
        const act = (label, fn, cls) => h("button", { type: "button", class: cls || "ghost", onclick: fn }, label);
        const actions = [act("Watch", () => watch(c.config.name))];
        if (writable) {
          actions.push(s.running
            ? act("Stop", async () => { await api("POST", `/v1/cameras/${enc(c.config.name)}/stop`).catch((e) => toast(e.message)); refresh(); })
            : act("Start", async () => {
              try { await api("POST", `/v1/cameras/${enc(c.config.name)}/start`); await refresh(); watch(c.config.name); } catch (e) { toast(e.message); }
            }));
          actions.push(act("Edit", () => formSlot.replaceChildren(cameraForm(c, detectors, refresh))));
          actions.push(act("Remove", async () => {
            if (!confirm(`Remove camera ${c.config.name}? Its past events stay in the timeline.`)) return;
            try { await api("DELETE", `/v1/cameras/${enc(c.config.name)}`); if (watching === c.config.name) stopLive(); toast(`Removed ${c.config.name}`); } catch (e) { toast(e.message); }
            refresh();
          }, "danger"));
        }
        const state = s.running ? h("span", { class: "badge ok" }, "running")
          : s.error ? h("span", { class: "badge bad", title: s.error }, "error") : h("span", { class: "badge neutral" }, "stopped");
        return h("tr", { "data-camera": c.config.name },
          h("td", {}, h("strong", {}, c.config.name)),
          h("td", { class: "mono cam-source" }, String(c.config.source)),
          h("td", {}, state, s.error ? h("div", { class: "error" }, s.error) : null),
          h("td", {}, s.fps), h("td", {}, s.frames), h("td", {}, total),
          h("td", { class: "row" }, actions));
      }));
    }
    await refresh();
    const timer = setInterval(() => { if (document.body.contains(tbody)) refresh(); else clearInterval(timer); }, 3000);
    cleanups.push(() => clearInterval(timer));

    const add = h("button", { type: "button", onclick: () => formSlot.replaceChildren(cameraForm(null, detectors, async (name) => {
      await refresh();
      const cams = await api("GET", `/v1/cameras/${enc(name)}`).catch(() => null);
      if (cams && cams.status.running) watch(name);
    })) }, "Add a camera");
    return [
      h("h1", {}, "Cameras"),
      h("p", { class: "lead" }, "Video sources the server analyses: faces or people are detected and tracked, zones and lines raise events, and rules turn events into alerts."),
      writable ? h("div", { class: "row" }, add) : null,
      formSlot,
      h("section", { class: "card" }, table),
      h("div", { class: "cam-grid" }, liveCard, await timeline(null)),
      await rulesEditor(),
    ];
  }

  clearsight.registerPage("cameras", { label: "Cameras", permission: "cameras:read", render: camerasPage });
})();
