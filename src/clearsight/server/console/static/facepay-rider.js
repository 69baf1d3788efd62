// A rider's own page: balance, journeys, money movements, passages, and disputing a
// passage. Authenticated by the rider's own key (X-Rider-Key), kept in this tab only;
// it opens this one account and nothing else.
"use strict";

(() => {
  const STORE = "clearsight.riderKey";
  const el = (id) => document.getElementById(id);
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  const money = (m, cur) => (m === null || m === undefined ? "–" : `${(m / 100).toFixed(2)} ${cur}`);

  async function call(method, path, body) {
    const headers = { "X-Rider-Key": sessionStorage.getItem(STORE) || "" };
    if (body) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { const e = new Error(data.detail || `HTTP ${res.status}`); e.status = res.status; throw e; }
    return data;
  }

  function table(headers, rows, id) {
    return h("table", { class: "fp-table", id }, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))), h("tbody", {}, rows));
  }

  async function show() {
    let me;
    try { me = await call("GET", "/v1/facepay/me"); } catch (err) {
      sessionStorage.removeItem(STORE);
      el("rider-error").textContent = err.status === 401 ? "That rider key is unknown or no longer valid." : err.message;
      el("rider-signin").hidden = false; el("rider-account").hidden = true; el("rider-signout").hidden = true;
      return;
    }
    const cur = me.rider.currency;
    el("rider-signin").hidden = true; el("rider-signout").hidden = false;
    const acct = el("rider-account");
    acct.hidden = false;
    const disputed = new Set(me.disputes.map((d) => d.passage_id));
    acct.replaceChildren(
      h("section", { class: "card" }, h("h2", {}, "Balance"),
        h("p", { class: "fp-big", id: "rider-balance", "data-balance": String(me.rider.balance) }, money(me.rider.balance, cur)),
        h("p", { class: "muted" }, `Account ${me.rider.id} · ${me.rider.status}`)),
      h("section", { class: "card" }, h("h2", {}, "Journeys"),
        me.journeys.length ? table(["entered", "from", "to", "status", "fare"], me.journeys.map((j) => h("tr", {},
          h("td", {}, new Date(j.entry_at).toLocaleString()), h("td", {}, j.entry_station), h("td", {}, j.exit_station || "–"),
          h("td", {}, j.status), h("td", {}, money(j.fare, cur)))), "rider-journeys") : h("p", { class: "muted" }, "No journeys yet.")),
      h("section", { class: "card" }, h("h2", {}, "Money"),
        me.transactions.length ? table(["when", "what", "amount", "note"], me.transactions.map((t) => h("tr", {},
          h("td", {}, new Date(t.at).toLocaleString()), h("td", {}, t.kind),
          h("td", {}, money(t.entries.filter((e) => e.account_id === `rider:${me.rider.id}`).reduce((s, e) => s + e.amount, 0), cur)),
          h("td", {}, t.memo))), "rider-transactions") : h("p", { class: "muted" }, "Nothing yet.")),
      h("section", { class: "card" }, h("h2", {}, "Gate passages"),
        h("p", { class: "muted" }, `Something wrong? You can dispute a passage for ${me.dispute_window_days} days.`),
        me.passages.length ? table(["when", "station", "outcome", ""], me.passages.map((p) => h("tr", {},
          h("td", {}, new Date(p.at).toLocaleString()), h("td", {}, `${p.station} (${p.direction})`),
          h("td", {}, p.outcome + (p.reason ? ` (${p.reason})` : "")),
          h("td", {}, disputed.has(p.id) ? "disputed" : h("button", { type: "button", onclick: async () => {
            const reason = prompt("What is wrong with this passage?");
            if (!reason) return;
            try { await call("POST", "/v1/facepay/me/disputes", { passage_id: p.id, reason }); show(); }
            catch (err) { alert(err.message); } } }, "Dispute")))), "rider-passages") : h("p", { class: "muted" }, "None.")));
  }

  document.addEventListener("DOMContentLoaded", () => {
    el("rider-signin").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(STORE, el("rider-key").value.trim());
      el("rider-error").textContent = "";
      show();
    });
    el("rider-signout").addEventListener("click", () => { sessionStorage.removeItem(STORE); location.reload(); });
    if (sessionStorage.getItem(STORE)) show();
  });
})();
