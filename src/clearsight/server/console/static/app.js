// Clearsight console: a small single-page app over the /v1 API. No framework, no
// build step: every page is a function that renders DOM (never innerHTML with data,
// so names from the gallery cannot inject markup).
"use strict";

const KEY = "clearsight.key";
const PURPOSES = ["login", "kyc", "access", "facepay", "watchlist", "photos"];
const BASES = [
  ["consent", "Consent of the person"],
  ["contract", "Performance of a contract"],
  ["legal_obligation", "Legal obligation"],
  ["public_task", "Public task"],
  ["legitimate_interest", "Legitimate interest"],
];
let me = null;

// ---------------------------------------------------------------- helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "style") el.style.cssText = v; // CSSOM: allowed by the page's CSP, unlike a style attribute
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function toast(msg) {
  const t = h("div", {}, msg);
  document.getElementById("toast").append(t);
  setTimeout(() => t.remove(), 4000);
}

class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError({ detail: "cannot reach the server" }, 0);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
  if (!res.ok) {
    if (res.status === 401 && path !== "/v1/me") { signOut("Your key is no longer valid; sign in again."); }
    throw new ApiError(data || {}, res.status);
  }
  return data;
}

function errorBox(err) {
  const p = err.problem || {};
  const parts = [err.message];
  if (p.code) parts.push(` (${p.code})`);
  return h("p", { class: "error", role: "alert" }, parts.join(""));
}

function busy(button, label) {
  const old = button.textContent;
  button.disabled = true;
  button.replaceChildren(h("span", { class: "spin" }), " ", label || "Working…");
  return () => { button.disabled = false; button.textContent = old; };
}

function can(perm) { return me && me.permissions.includes(perm); }

function fmtTime(s) {
  if (!s) return "—";
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

function pct(x) { return `${(x * 100).toFixed(1)}%`; }

// An image drop zone with a canvas preview on which face boxes can be drawn.
function dropZone(name, label) {
  const canvas = h("canvas", { hidden: true });
  const text = h("span", {}, label, h("br"), h("small", { class: "muted" }, "click or drop a photo"));
  const input = h("input", { type: "file", name, accept: "image/*", "aria-label": label });
  const zone = h("div", { class: "drop" }, text, canvas, input);
  let img = null;
  input.addEventListener("change", () => {
    const f = input.files[0];
    if (!f) return;
    const url = URL.createObjectURL(f);
    const im = new Image();
    im.onload = () => { img = im; draw([]); text.hidden = true; canvas.hidden = false; };
    im.onerror = () => { img = null; canvas.hidden = true; text.hidden = false; text.textContent = `${f.name} (preview unavailable)`; };
    im.src = url;
  });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", () => zone.classList.remove("over"));
  function draw(boxes) {
    if (!img) return;
    const scale = Math.min(1, 640 / Math.max(img.naturalWidth, img.naturalHeight));
    canvas.width = Math.round(img.naturalWidth * scale);
    canvas.height = Math.round(img.naturalHeight * scale);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    ctx.lineWidth = Math.max(2, canvas.width / 200);
    for (const b of boxes) {
      ctx.strokeStyle = b.color || "#1f5eff";
      ctx.strokeRect(b.x1 * scale, b.y1 * scale, (b.x2 - b.x1) * scale, (b.y2 - b.y1) * scale);
    }
  }
  return { el: zone, input, draw, file: () => input.files[0] };
}

// ---------------------------------------------------------------- pages
const pages = {};

pages.verify = function () {
  const a = dropZone("image_a", "First photo");
  const b = dropZone("image_b", "Second photo");
  const op = h("select", { name: "operating_point" },
    h("option", { value: "strict" }, "Strict — 1 false match in 10,000"),
    h("option", { value: "balanced", selected: true }, "Balanced — 1 in 1,000"),
    h("option", { value: "lenient" }, "Lenient — 1 in 100"));
  const out = h("div", { id: "verify-result" });
  const go = h("button", { type: "submit" }, "Compare faces");
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    out.replaceChildren();
    if (!a.file() || !b.file()) { out.append(errorBox(new Error("Choose two photos first."))); return; }
    const fd = new FormData();
    fd.append("image_a", a.file());
    fd.append("image_b", b.file());
    fd.append("operating_point", op.value);
    const done = busy(go, "Comparing…");
    try {
      const r = await api("POST", "/v1/verify", fd);
      a.draw([r.face_a.box]);
      b.draw([r.face_b.box]);
      const same = r.decision === "match";
      out.replaceChildren(h("div", { class: "card" },
        h("div", { class: "result" },
          h("span", { class: `verdict badge ${same ? "ok" : "bad"}`, "data-decision": r.decision },
            same ? "Same person" : "Different people"),
          h("div", { class: "meter", title: "similarity (the line marks the threshold)" },
            h("span", { style: `width:${Math.max(0, Math.min(1, r.similarity)) * 100}%` }),
            h("i", { style: `left:${r.threshold * 100}%` })),
        ),
        h("p", { class: "muted" },
          `Similarity ${r.similarity.toFixed(3)} ${same ? "≥" : "<"} threshold ${r.threshold.toFixed(3)} `
          + `(${r.operating_point}: false-match rate ${r.target_fmr}); model ${r.model}.`),
        qualityNotes(r.face_a, "First photo"), qualityNotes(r.face_b, "Second photo")));
    } catch (err) { out.append(errorBox(err)); } finally { done(); }
  } },
    h("div", { class: "grid2" }, a.el, b.el),
    h("div", { class: "row", style: "margin-top:1rem" }, h("label", {}, "Operating point", op), h("div", {}, go, h("div", { style: "height:.75rem" }))),
  );
  return [h("h1", {}, "Verify"), h("p", { class: "lead" }, "Are these two photos the same person? Uses the largest face in each photo."), form, out];
};

function qualityNotes(face, label) {
  if (!face || !face.quality || face.quality.passed) return null;
  return h("p", { class: "notice" }, `${label}: low quality (${face.quality.reasons.join(", ")}) — the result is less reliable.`);
}

pages.identities = async function () {
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const formBox = h("div", {});
  const canWrite = can("identities:write");
  const add = canWrite ? h("button", { type: "button", onclick: () => { formBox.replaceChildren(enrolForm(refresh)); add.hidden = true; } }, "Enrol a person") : null;
  async function refresh() {
    add && (add.hidden = false);
    try {
      const data = await api("GET", "/v1/identities?limit=200");
      list.replaceChildren(identityTable(data.items, canWrite, refresh),
        data.total > data.items.length ? h("p", { class: "muted" }, `Showing the first ${data.items.length} of ${data.total}.`) : null);
    } catch (err) { list.replaceChildren(errorBox(err)); }
  }
  refresh();
  return [h("div", { class: "row", style: "justify-content:space-between;align-items:center" },
    h("div", {}, h("h1", {}, "Identities"), h("p", { class: "lead" }, "People enrolled in the gallery, each with a consent record.")), add),
    formBox, h("div", { class: "card" }, list)];
};

function identityTable(items, canWrite, refresh) {
  if (!items.length) return h("p", { class: "muted", id: "no-identities" }, "Nobody is enrolled yet. Use “Enrol a person” to add someone with their consent.");
  return h("div", { class: "table-wrap" }, h("table", { id: "identities" },
    h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "External id"), h("th", {}, "Faces"), h("th", {}, "Consent"), h("th", {}, "Enrolled"), h("th", {}, ""))),
    h("tbody", {}, items.map((it) => h("tr", { "data-id": it.id },
      h("td", {}, h("strong", {}, it.display_name)),
      h("td", { class: "mono" }, it.external_id || "—"),
      h("td", {}, String(it.template_count)),
      h("td", {}, (it.consents || []).filter((c) => c.active).map((c) => h("span", { class: "badge ok", title: `${c.legal_basis}, granted by ${c.granted_by}` }, c.purpose, " ")),
        (it.consents || []).some((c) => c.active) ? null : h("span", { class: "badge warn" }, "none")),
      h("td", {}, fmtTime(it.created_at)),
      h("td", { style: "text-align:right" }, canWrite ? h("button", { class: "danger", type: "button", "aria-label": `Erase ${it.display_name}`, onclick: async (e) => {
        if (!confirm(`Erase ${it.display_name}? Their face templates, consents and group memberships are deleted. This cannot be undone.`)) return;
        const done = busy(e.currentTarget, "Erasing…");
        try { await api("DELETE", `/v1/identities/${encodeURIComponent(it.id)}`); toast(`${it.display_name} erased`); refresh(); }
        catch (err) { done(); toast(err.message); }
      } }, "Erase") : null),
    )))));
}

function enrolForm(refresh) {
  const photo = dropZone("image", "Enrolment photo");
  const today = new Date();
  const nextYear = new Date(today.getFullYear() + 1, today.getMonth(), today.getDate()).toISOString().slice(0, 10);
  const out = h("div", {});
  const go = h("button", { type: "submit" }, "Enrol");
  const form = h("form", { class: "card", id: "enrol-form", onsubmit: async (e) => {
    e.preventDefault();
    out.replaceChildren();
    const f = new FormData(form);
    if (!photo.file()) { out.append(errorBox(new Error("Choose an enrolment photo."))); return; }
    if (!f.get("confirm")) { out.append(errorBox(new Error("Confirm that the consent or legal basis is recorded."))); return; }
    const done = busy(go, "Enrolling…");
    let created = null;
    try {
      created = await api("POST", "/v1/identities", {
        display_name: f.get("display_name"), external_id: f.get("external_id") || null,
      });
      const expiry = f.get("expires_at");
      await api("POST", `/v1/identities/${created.id}/consents`, {
        purpose: f.get("purpose"), legal_basis: f.get("legal_basis"), granted_by: f.get("granted_by"),
        expires_at: expiry ? new Date(`${expiry}T23:59:59Z`).toISOString() : null,
      });
      const fd = new FormData();
      fd.append("image", photo.file());
      const r = await api("POST", `/v1/identities/${created.id}/faces`, fd);
      photo.draw([r.face ? r.face.box : null].filter(Boolean));
      toast(`${created.display_name} enrolled`);
      if (r.warnings && r.warnings.length) toast(`Note: ${r.warnings.join("; ")}`);
      form.remove();
      refresh();
    } catch (err) {
      // Nothing half-done stays behind: a person without a usable face is erased again.
      if (created) { try { await api("DELETE", `/v1/identities/${created.id}`); } catch (e2) { /* reported below */ } }
      const box = errorBox(err);
      const reasons = err.problem && err.problem.reasons;
      if (reasons && reasons.length) box.append(` — ${reasons.join(", ")}`);
      out.append(box);
      done();
    }
  } },
    h("h2", {}, "Enrol a person"),
    h("div", { class: "grid2" },
      h("div", {},
        h("label", {}, "Full name", h("input", { type: "text", name: "display_name", required: true, maxlength: 200, autocomplete: "off" })),
        h("label", {}, "External id", h("span", { class: "hint" }, "optional: employee or customer number"), h("input", { type: "text", name: "external_id", maxlength: 200, autocomplete: "off" })),
        h("fieldset", { class: "card", style: "margin:0" },
          h("legend", {}, h("strong", {}, "Consent record")),
          h("label", {}, "Purpose", h("span", { class: "hint" }, "searches for other purposes will not find this person"),
            h("select", { name: "purpose" }, PURPOSES.map((p) => h("option", { value: p }, p)))),
          h("label", {}, "Legal basis", h("select", { name: "legal_basis" }, BASES.map(([v, t]) => h("option", { value: v }, t)))),
          h("label", {}, "Granted by", h("span", { class: "hint" }, "who gave consent (the person, a guardian…)"), h("input", { type: "text", name: "granted_by", required: true, maxlength: 200 })),
          h("label", {}, "Expires on", h("input", { type: "date", name: "expires_at", value: nextYear })),
          h("label", { class: "check" }, h("input", { type: "checkbox", name: "confirm", value: "yes" }), "I confirm this consent (or legal basis) is documented."),
        )),
      photo.el),
    h("div", { class: "row", style: "margin-top:1rem" }, go, h("button", { type: "button", class: "ghost", onclick: () => { form.remove(); refresh(); } }, "Cancel")),
    out);
  return form;
}

pages.search = async function () {
  const photo = dropZone("image", "Photo to search");
  let groups = [];
  try { groups = (await api("GET", "/v1/groups")).items || []; } catch (e) { groups = []; }
  const out = h("div", { id: "search-result" });
  const go = h("button", { type: "submit" }, "Search");
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    out.replaceChildren();
    if (!photo.file()) { out.append(errorBox(new Error("Choose a photo."))); return; }
    const f = new FormData(form);
    const fd = new FormData();
    fd.append("image", photo.file());
    for (const k of ["purpose", "top_k", "group"]) if (f.get(k)) fd.append(k, f.get(k));
    fd.append("all_faces", "true");
    const done = busy(go, "Searching…");
    try {
      const r = await api("POST", "/v1/search", fd);
      photo.draw(r.faces.map((x) => ({ ...x.face.box, color: x.matches.some((m) => m.match) ? "#11804b" : "#1f5eff" })));
      out.replaceChildren(h("div", { class: "card" },
        h("h2", {}, `${r.faces.length} face${r.faces.length === 1 ? "" : "s"} searched for purpose “${r.purpose}”`),
        r.faces.length ? null : h("p", { class: "muted" }, "No face found in the photo."),
        r.faces.map((x, i) => h("div", { class: "hit", style: "margin-bottom:1rem" },
          h("img", { class: "crop", src: x.face.crop, alt: `face ${i + 1}` }),
          x.matches.length ? h("ol", {}, x.matches.map((m) => h("li", { class: "match" },
            h("strong", {}, m.display_name || m.identity_id),
            h("span", { class: "mono" }, `similarity ${m.similarity.toFixed(3)}`),
            m.match ? h("span", { class: "badge ok" }, `match (${m.operating_point})`) : h("span", { class: "badge neutral" }, "below threshold"))))
            : h("p", { class: "muted" }, "No one with consent for this purpose is similar.")))));
    } catch (err) { out.append(errorBox(err)); } finally { done(); }
  } },
    h("div", { class: "grid2" }, photo.el, h("div", {},
      h("label", {}, "Purpose", h("span", { class: "hint" }, "only people who consented to this purpose are searched; the search is audited"),
        h("select", { name: "purpose" }, PURPOSES.map((p) => h("option", { value: p }, p)))),
      h("label", {}, "Group", h("span", { class: "hint" }, "optional: search one watchlist or group"),
        h("select", { name: "group" }, h("option", { value: "" }, "Everyone"), groups.map((g) => h("option", { value: g.name }, g.name)))),
      h("label", {}, "Results per face", h("input", { type: "number", name: "top_k", value: 5, min: 1, max: 50 })),
      go)));
  return [h("h1", {}, "Search"), h("p", { class: "lead" }, "Find enrolled people in a photo. Every face in the photo is searched."), form, out];
};

pages.audit = async function () {
  const status = h("div", { id: "chain-status" });
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const check = h("button", { type: "button", onclick: async () => {
    const done = busy(check, "Checking…");
    try {
      const r = await api("GET", "/v1/audit/verify");
      status.replaceChildren(r.ok
        ? h("p", {}, h("span", { class: "badge ok" }, "Chain intact"), ` ${r.checked} entries checked; none altered or removed.`)
        : h("p", {}, h("span", { class: "badge bad" }, "Chain broken"), ` first bad entry: #${r.first_bad} (of ${r.checked} checked).`));
    } catch (err) { status.replaceChildren(errorBox(err)); } finally { done(); }
  } }, "Verify chain");
  try {
    const data = await api("GET", "/v1/audit?limit=1000");
    const items = data.items.slice().reverse(); // newest first
    list.replaceChildren(items.length ? h("div", { class: "table-wrap" }, h("table", { id: "audit" },
      h("thead", {}, h("tr", {}, ["#", "Time", "Actor", "Action", "Purpose", "Target", "Outcome", "Details"].map((t) => h("th", {}, t)))),
      h("tbody", {}, items.map((e) => h("tr", {},
        h("td", { class: "mono" }, String(e.seq)),
        h("td", {}, fmtTime(e.at)),
        h("td", { class: "mono" }, e.actor),
        h("td", {}, h("span", { class: "badge neutral" }, e.action)),
        h("td", {}, e.purpose || "—"),
        h("td", { class: "mono" }, e.target || "—"),
        h("td", {}, h("span", { class: `badge ${outcomeClass(e.outcome)}` }, e.outcome)),
        h("td", { class: "mono details" }, e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : "")))))) :
      h("p", { class: "muted" }, "The audit log is empty."));
  } catch (err) { list.replaceChildren(errorBox(err)); }
  return [h("div", { class: "row", style: "justify-content:space-between;align-items:center" },
    h("div", {}, h("h1", {}, "Audit"), h("p", { class: "lead" }, "Every search, enrolment, consent change and erasure, newest first. Entries are hash-chained.")), check),
    status, h("div", { class: "card" }, list)];
};

pages.keys = async function () {
  const list = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const shown = h("div", { id: "new-key" });
  const role = h("select", { name: "role" },
    h("option", { value: "operator" }, "operator — faces, identities, search"),
    h("option", { value: "auditor" }, "auditor — audit log, read-only identities"),
    h("option", { value: "client" }, "client — detect and verify only"),
    h("option", { value: "admin" }, "admin — everything"));
  const name = h("input", { type: "text", name: "name", maxlength: 100, placeholder: "e.g. front desk, DPO, door kiosk" });
  const go = h("button", { type: "submit" }, "Create key");
  async function refresh() {
    try {
      const keys = await api("GET", "/v1/keys");
      list.replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "keys" },
        h("thead", {}, h("tr", {}, ["Id", "Name", "Role", "Created", "Last used", "Status", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, keys.map((k) => h("tr", { "data-id": k.id },
          h("td", { class: "mono" }, k.id), h("td", {}, k.name), h("td", {}, h("span", { class: "badge neutral" }, k.role)),
          h("td", {}, fmtTime(k.created_at)), h("td", {}, fmtTime(k.last_used_at)),
          h("td", {}, k.revoked_at ? h("span", { class: "badge bad" }, "revoked") : h("span", { class: "badge ok" }, "active")),
          h("td", { style: "text-align:right" }, k.revoked_at || k.id === me.id ? null : h("button", { class: "danger", type: "button", "aria-label": `Revoke ${k.name}`, onclick: async () => {
            if (!confirm(`Revoke the key “${k.name}”? Anything using it stops working at once.`)) return;
            try { await api("DELETE", `/v1/keys/${encodeURIComponent(k.id)}`); toast(`${k.name} revoked`); refresh(); } catch (err) { toast(err.message); }
          } }, "Revoke"))))))));
    } catch (err) { list.replaceChildren(errorBox(err)); }
  }
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const done = busy(go, "Creating…");
    try {
      const k = await api("POST", "/v1/keys", { role: role.value, name: name.value.trim() });
      const value = h("input", { type: "text", readonly: true, value: k.key, class: "mono", id: "new-key-value", "aria-label": "new API key" });
      shown.replaceChildren(h("div", { class: "notice" },
        h("strong", {}, `New ${k.role} key “${k.name}”. Copy it now: it is shown only once.`), value,
        h("button", { type: "button", class: "ghost", style: "margin-top:.5rem", onclick: async () => {
          value.select();
          try { await navigator.clipboard.writeText(k.key); toast("Copied"); } catch (e2) { document.execCommand("copy"); }
        } }, "Copy")));
      name.value = "";
      refresh();
    } catch (err) { shown.replaceChildren(errorBox(err)); } finally { done(); }
  } },
    h("h2", {}, "Create an API key"),
    h("div", { class: "row" }, h("label", {}, "Role", role), h("label", {}, "Name", name), h("div", {}, go, h("div", { style: "height:.75rem" }))),
    shown);
  refresh();
  return [h("h1", {}, "API keys"), h("p", { class: "lead" }, "Keys for people and systems. Only a hash is stored; a key is shown once, when created."), form, h("div", { class: "card" }, list)];
};

function outcomeClass(outcome) {
  if (["rejected", "denied", "error", "failed"].includes(outcome)) return "bad";
  if (outcome === "no_match") return "neutral";
  return "ok"; // ok, match, and the operating point a match passed
}

pages.models = async function () {
  const out = h("div", { class: "card" }, h("p", { class: "muted" }, "Loading…"));
  let ready = null;
  try { const r = await fetch("/readyz"); ready = await r.json(); } catch (e) { ready = null; }
  try {
    const rows = await api("GET", "/v1/models");
    out.replaceChildren(h("div", { class: "table-wrap" }, h("table", { id: "models" },
      h("thead", {}, h("tr", {}, ["Model", "Task", "Source", "Size", "Checksum", "Licence"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.map((m) => h("tr", {},
        h("td", { class: "mono" }, m.name), h("td", {}, m.task), h("td", { class: "mono" }, m.source),
        h("td", {}, m.size ? `${(m.size / 1e6).toFixed(1)} MB` : "—"),
        h("td", {}, m.checksum_ok ? h("span", { class: "badge ok" }, "OK")
          : m.optional && !m.size ? h("span", { class: "badge", title: m.problem || "" }, "opt-in, not installed")
            : h("span", { class: "badge bad", title: m.problem || "" }, "missing / bad")),
        h("td", {}, m.licence)))))));
  } catch (err) { out.replaceChildren(errorBox(err)); }
  const state = ready ? h("p", {}, h("span", { class: `badge ${ready.ready ? "ok" : "warn"}` }, ready.ready ? "Ready" : "Loading models"),
    ` gallery: ${ready.gallery}`, !ready.ready && ready.detail ? ` — ${ready.detail}` : "") : null;
  return [h("h1", {}, "Models"), h("p", { class: "lead" }, "Every model runs on this machine; weights come from installed packages and are checksum-verified."), state, out];
};

// ---------------------------------------------------------------- shell
const NEEDS = { verify: "faces:analyze", identities: "identities:read", search: "gallery:search", audit: "audit:read", models: "models:read", keys: "keys:admin" };

function signInPage(message) {
  const input = h("input", { type: "password", name: "key", id: "key", autocomplete: "off", placeholder: "cs_…", required: true });
  const out = h("div", {}, message ? h("p", { class: "notice" }, message) : null);
  const go = h("button", { type: "submit" }, "Sign in");
  return h("form", { class: "card signin", id: "signin", onsubmit: async (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    const done = busy(go, "Signing in…");
    try { me = await api("GET", "/v1/me"); start(); }
    catch (err) { sessionStorage.removeItem(KEY); out.replaceChildren(errorBox(err.status === 401 ? new Error("That key is unknown or revoked.") : err)); done(); }
  } },
    h("h1", {}, "Sign in"),
    h("p", { class: "lead" }, "Paste an API key. The first admin key was printed by ", h("code", {}, "clearsight serve"), " when it first started; create more with ", h("code", {}, "clearsight keys create --role operator"), "."),
    h("label", {}, "API key", input), go, out);
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  me = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("session").hidden = true;
  document.getElementById("main").replaceChildren(signInPage(message));
}

async function route() {
  if (!me) return;
  const name = (location.hash.replace(/^#\//, "") || "").split("?")[0];
  const allowed = Object.keys(NEEDS).filter((p) => can(NEEDS[p]));
  const page = allowed.includes(name) ? name : allowed[0];
  if (page !== name) { location.hash = `#/${page}`; return; }
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.link) { a.hidden = !can(a.dataset.link); continue; }
    a.hidden = !allowed.includes(a.dataset.page);
    a.classList.toggle("active", a.dataset.page === page);
    if (a.dataset.page === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  document.getElementById("toast").replaceChildren(); // notes belong to the page they came from
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  const content = await pages[page]();
  main.replaceChildren(...[content].flat());
  main.dataset.page = page;
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · Clearsight`;
}

function start() {
  document.getElementById("nav").hidden = false;
  document.getElementById("session").hidden = false;
  document.getElementById("whoami").textContent = `${me.name} · ${me.role}`;
  route();
}

// Extension point: feature areas ship `static/pages/<name>.js` (loaded after this
// file, before the app starts) and call `clearsight.registerPage(...)` with the
// helpers below, so a camera or DMS page needs no edit here.
window.clearsight = {
  h, api, toast, errorBox, busy, dropZone, can, fmtTime, PURPOSES,
  registerPage(name, { label, permission, render }) {
    if (!/^[a-z][a-z0-9-]*$/.test(name) || pages[name]) throw new Error(`bad or duplicate page name ${name}`);
    pages[name] = render;
    NEEDS[name] = permission;
    document.getElementById("nav").append(h("a", { href: `#/${name}`, "data-page": name }, label));
  },
  // A stand-alone page (its own HTML, same sign-in key) in the nav for roles holding `permission`.
  registerLink(label, href, permission) {
    document.getElementById("nav").append(h("a", { href, "data-link": permission }, label));
  },
};

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("signout").addEventListener("click", () => signOut());
  if (sessionStorage.getItem(KEY)) {
    try { me = await api("GET", "/v1/me"); start(); return; } catch (e) { sessionStorage.removeItem(KEY); }
  }
  signOut();
});
