// People page: the photo library's faces grouped by person (a grid of faces), then one
// person's photos. Naming records the basis for it (purpose photos) and, like merging,
// is audited server-side; unnamed people stay anonymous clusters.
"use strict";

(() => {
  const { h, api, toast, errorBox, busy, can } = clearsight;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/console/static/pages/people.css";
  document.head.append(link);

  const keyHeader = () => ({ Authorization: `Bearer ${sessionStorage.getItem("clearsight.key") || ""}` });
  async function blobUrl(path) {
    const res = await fetch(path, { headers: keyHeader() });
    return res.ok ? URL.createObjectURL(await res.blob()) : null;
  }
  function image(path, alt, cls) {
    const img = h("img", { class: cls, alt, loading: "lazy" });
    blobUrl(path).then((u) => { if (u) img.src = u; });
    return img;
  }
  const label = (p) => p.name || `Person ${p.id.slice(0, 6)}`;

  function nameForm(p, done) {
    const name = h("input", { name: "name", required: true, maxlength: 255, value: p.name || "", "aria-label": "name" });
    const basis = h("input", { name: "legal_basis", required: true, minlength: 3, maxlength: 128, value: "consent",
      "aria-label": "consent or legal basis" });
    const go = h("button", { type: "submit" }, "Name");
    const form = h("form", { class: "pp-form" },
      h("label", {}, "Name ", name), h("label", {}, "Basis (purpose photos) ", basis), go);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const idle = busy(go, "Saving…");
      try {
        await api("POST", `/v1/photos/people/${p.id}/name`, { name: name.value, legal_basis: basis.value });
        toast(`Named ${name.value}`);
        done();
      } catch (err) { form.append(errorBox(err)); } finally { idle(); }
    });
    return form;
  }

  function mergeForm(p, people, done) {
    const others = people.filter((o) => o.id !== p.id);
    const pick = h("select", { name: "other", "aria-label": "merge with" },
      others.map((o) => h("option", { value: o.id }, `${label(o)} (${o.photos} photos)`)));
    const go = h("button", { type: "submit" }, "Merge into this person");
    const form = h("form", { class: "pp-form" }, h("label", {}, "Same person as ", pick), go);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const idle = busy(go, "Merging…");
      try {
        await api("POST", `/v1/photos/people/${p.id}/merge`, { other: pick.value });
        toast("Merged");
        done();
      } catch (err) { form.append(errorBox(err)); } finally { idle(); }
    });
    return others.length ? form : h("p", { class: "muted" }, "Nobody else to merge with.");
  }

  async function personView(id) {
    try {
      const [p, photos, people] = await Promise.all([
        api("GET", `/v1/photos/people/${id}`), api("GET", `/v1/photos/people/${id}/photos`),
        api("GET", "/v1/photos/people")]);
      const back = h("a", { href: "#/people" }, "← All people");
      const out = [back, h("h1", { id: "pp-title" }, label(p)),
        h("p", { class: "muted" }, `${p.photos} photos, ${p.faces} faces${p.name ? "" : " · not named"}`)];
      if (can("photos:write")) {
        const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
        out.push(h("div", { class: "pp-actions" }, nameForm(p, reload), mergeForm(p, people, reload)));
      }
      out.push(h("ul", { class: "pp-photos" }, photos.map((ph) => h("li", { class: "pp-photo" },
        image(`/v1/photos/${ph.id}/thumbnail`, ph.path.split("/").pop(), "pp-thumb"),
        h("small", {}, ph.taken_at ? new Date(ph.taken_at).toLocaleDateString() : ph.path.split("/").pop())))));
      return out;
    } catch (err) { return [h("a", { href: "#/people" }, "← All people"), errorBox(err)]; }
  }

  async function grid() {
    try {
      const people = await api("GET", "/v1/photos/people");
      if (!people.length) {
        return [h("h1", {}, "People"),
          h("p", {}, "No photos yet. Import a folder: ", h("code", {}, "clearsight photos import ~/Pictures"))];
      }
      return [h("h1", {}, "People"),
        h("p", { class: "muted" }, `${people.length} people, named and not. Open one to see their photos.`),
        h("ul", { class: "pp-grid" }, people.map((p) => h("li", { class: "pp-person", "data-person": p.id },
          h("a", { href: `#/people?p=${p.id}` },
            p.cover_face ? image(`/v1/photos/faces/${p.cover_face}/image`, label(p), "pp-face") : "",
            h("span", { class: p.name ? "pp-name" : "pp-name muted" }, label(p)),
            h("small", {}, `${p.photos} photos`)))))];
    } catch (err) { return [h("h1", {}, "People"), errorBox(err)]; }
  }

  clearsight.registerPage("people", {
    label: "People",
    permission: "photos:read",
    render: async () => {
      const m = location.hash.match(/^#\/people\?p=([0-9a-f]+)$/);
      return m ? personView(m[1]) : grid();
    },
  });
})();
