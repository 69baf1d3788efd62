// Face-pay ledger for operators: the daily reconciliation (does the ledger balance?),
// every account's balance, the latest double-entry transactions, riders (top up,
// erase), and disputes to resolve with their evidence.
"use strict";

(() => {
  const { h, api, toast, errorBox, can } = clearsight;

  function money(minor, cur) { return minor === null || minor === undefined ? "–" : `${(minor / 100).toFixed(2)} ${cur || ""}`; }
  function tableOf(headers, rows, id) {
    return h("table", { class: "fp-table", id },
      h("thead", {}, h("tr", {}, headers.map(([t, cls]) => h("th", { class: cls || "" }, t)))),
      h("tbody", {}, rows));
  }

  async function reportCard() {
    const r = await api("GET", "/v1/facepay/reports/daily");
    return h("section", { class: "card", id: "fp-report", "data-balanced": String(r.balanced) },
      h("h2", {}, `Reconciliation ${r.day} `, h("span", { class: `badge ${r.balanced ? "ok" : "bad"}` }, r.balanced ? "balanced" : "DOES NOT BALANCE")),
      h("dl", { class: "fp-facts" },
        ...Object.entries(r.totals).flatMap(([k, v]) => [h("dt", {}, `${k} today`), h("dd", {}, money(v, r.currency))]),
        h("dt", {}, "passages today"), h("dd", {}, Object.entries(r.passages).map(([k, v]) => `${k} ${v}`).join(", ") || "none"),
        h("dt", {}, "owed to riders"), h("dd", {}, money(r.rider_liability, r.currency)),
        h("dt", {}, "checks"), h("dd", {}, `unbalanced transactions ${r.unbalanced_transactions}, account mismatches ${r.account_mismatches}, ` +
          `negative balances ${r.negative_rider_balances}, double-charged journeys ${r.double_charged_journeys}, uncharged journeys ${r.uncharged_closed_journeys}`)));
  }

  async function ledgerCard() {
    const l = await api("GET", "/v1/facepay/ledger?limit=50");
    const rows = l.items.map((t) => h("tr", { "data-kind": t.kind },
      h("td", {}, `#${t.id}`), h("td", {}, new Date(t.at).toLocaleString()), h("td", {}, t.kind),
      h("td", {}, t.entries.map((e) => h("div", {}, `${e.account_id} ${e.amount > 0 ? "+" : ""}${money(e.amount, e.currency)}`))),
      h("td", {}, t.memo), h("td", {}, t.kind === "fare" && can("facepay:write")
        ? h("button", { type: "button", onclick: async () => {
          try { await api("POST", "/v1/facepay/refunds", { txn_id: t.id, reason: "refunded from the console" }); toast(`Fare #${t.id} refunded.`); location.reload(); }
          catch (err) { toast(err.message); } } }, "Refund") : "")));
    return h("section", { class: "card" }, h("h2", {}, "Ledger (double entry, newest first)"),
      l.items.length ? tableOf([["txn"], ["at"], ["kind"], ["entries"], ["memo"], [""]], rows, "fp-ledger") : h("p", { class: "muted" }, "No transactions yet."));
  }

  async function ridersCard() {
    const [riders, accounts] = await Promise.all([api("GET", "/v1/facepay/riders?limit=200"), api("GET", "/v1/facepay/accounts")]);
    const system = accounts.items.filter((a) => !a.rider_id);
    const rows = riders.items.map((r) => h("tr", { "data-rider": r.id },
      h("td", {}, r.id), h("td", {}, r.status), h("td", { class: "num" }, money(r.balance, r.currency)),
      h("td", {}, r.status === "active" && can("facepay:write") ? [
        h("button", { type: "button", onclick: async () => {
          const v = prompt("Top up by (cents)", "1000");
          if (!v) return;
          try { await api("POST", `/v1/facepay/accounts/${r.id}/top-ups`, { amount: Math.floor(Number(v)) }); location.reload(); }
          catch (err) { toast(err.message); } } }, "Top up"), " ",
        h("button", { type: "button", onclick: async () => {
          if (!confirm("Erase this rider? Their face goes, the balance is refunded and the account closes.")) return;
          try { const e = await api("DELETE", `/v1/facepay/riders/${r.id}`); toast(`Erased; refunded ${money(e.refunded, e.currency)}.`); location.reload(); }
          catch (err) { toast(err.message); } } }, "Erase")] : "")));
    return h("section", { class: "card" }, h("h2", {}, "Accounts"),
      h("p", {}, system.map((a) => h("span", { class: "badge neutral" }, `${a.id} ${money(a.balance, a.currency)}`)).flatMap((x) => [x, " "])),
      riders.items.length ? tableOf([["rider"], ["status"], ["balance", "num"], [""]], rows, "fp-riders") : h("p", { class: "muted" }, "No riders yet."));
  }

  async function disputesCard() {
    const d = await api("GET", "/v1/facepay/disputes?status=open");
    const resolve = (id, refund) => async () => {
      try { await api("POST", `/v1/facepay/disputes/${id}/resolve`, { refund, note: "console" }); location.reload(); }
      catch (err) { toast(err.message); }
    };
    const rows = d.items.map((x) => h("tr", {}, h("td", {}, new Date(x.opened_at).toLocaleString()), h("td", {}, x.passage_id),
      h("td", {}, x.reason), h("td", {}, x.has_evidence ? h("a", { href: "#", onclick: async (e) => {
        e.preventDefault();
        const res = await fetch(`/v1/facepay/disputes/${x.id}/evidence`, { headers: { Authorization: `Bearer ${sessionStorage.getItem("clearsight.key")}` } });
        if (!res.ok) { toast("No evidence kept."); return; }
        const img = h("img", { alt: "gate frame", width: "240" });
        img.src = URL.createObjectURL(await res.blob());
        e.target.replaceWith(img);
      } }, "show gate frame (audited)") : "none kept"),
      h("td", {}, can("facepay:write") ? [h("button", { type: "button", onclick: resolve(x.id, true) }, "Refund"), " ",
        h("button", { type: "button", onclick: resolve(x.id, false) }, "Reject")] : "")));
    return h("section", { class: "card" }, h("h2", {}, "Open disputes"),
      d.items.length ? tableOf([["opened"], ["passage"], ["reason"], ["evidence"], [""]], rows, "fp-disputes") : h("p", { class: "muted" }, "None."));
  }

  clearsight.registerPage("ledger", {
    label: "Ledger",
    permission: "facepay:read",
    render: async () => {
      try { return [h("h1", {}, "Face-pay ledger"), await reportCard(), await ridersCard(), await disputesCard(), await ledgerCard()]; }
      catch (err) { return [errorBox(err)]; }
    },
  });
})();
