// The workflows of every cluster in one list. Filters live in the URL so
// a filtered view can be shared; only the rows in sight are drawn, so
// thousands of workflows scroll as fast as ten.

import { h, phaseBadge, phaseOf, timeEl, duration, between, workflowPath, fill } from "./util.js";
import { store } from "./store.js";

const ROW = 34; // px, the same as .row in app.css
const SPARE = 10; // rows drawn beyond the visible ones

const FILTERS = ["context", "namespace", "phase", "label", "prefix"];
const PHASES = ["Pending", "Running", "Suspended", "Succeeded", "Failed", "Error"];

function matches(row, f) {
  if (f.context && row.context !== f.context) return false;
  if (f.namespace && row.namespace !== f.namespace) return false;
  if (f.prefix && !row.name.startsWith(f.prefix)) return false;
  if (f.phase) {
    const shown = phaseOf(row.phase, row.status.includes("Suspended"));
    if (shown !== f.phase) return false;
  }
  if (f.label) {
    for (const want of f.label.split(",").map((l) => l.trim()).filter(Boolean)) {
      const [k, v] = want.split("=");
      if (!(k in row.labels) || (v !== undefined && row.labels[k] !== v)) return false;
    }
  }
  return true;
}

/** Newest first, as upstream's list: running ones have no finish time. */
function newestFirst(a, b) {
  return (b.created || "").localeCompare(a.created || "") || a.name.localeCompare(b.name);
}

export function renderList(query) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || ""]));
  const contextSelect = h("select", {id: "f-context", "aria-label": "Context"});
  const namespaceInput = h("input", {id: "f-namespace", placeholder: "namespace", value: f.namespace, "aria-label": "Namespace", list: "namespaces"});
  const namespaces = h("datalist", {id: "namespaces"});
  const phaseSelect = h("select", {id: "f-phase", "aria-label": "Phase"},
    h("option", {value: ""}, "any phase"), PHASES.map((p) => h("option", {value: p, selected: p === f.phase}, p)));
  const labelInput = h("input", {id: "f-label", placeholder: "label: key=value,key2", value: f.label, "aria-label": "Labels"});
  const prefixInput = h("input", {id: "f-prefix", placeholder: "name prefix", value: f.prefix, "aria-label": "Name prefix"});
  const count = h("span", {class: "count", "aria-live": "polite"});
  const banners = h("div", {class: "banners"});
  const spacer = h("div", {class: "spacer"});
  const rowsEl = h("div", {class: "rows", role: "rowgroup"});
  const scroller = h("div", {class: "scroller", tabindex: "0", "aria-label": "Workflows"}, spacer, rowsEl);
  const head = h("div", {class: "row head", role: "row"},
    ["Context", "Namespace", "Name", "Status", "Progress", "Started", "Duration", "Project"].map((c) => h("span", {role: "columnheader"}, c)));
  const empty = h("p", {class: "empty"});
  const el = h("section", {class: "page list-page"},
    h("div", {class: "filters", role: "search"}, contextSelect, namespaceInput, namespaces, phaseSelect, labelInput, prefixInput, count),
    banners, h("div", {class: "table", role: "table", "aria-label": "Workflows"}, head, scroller), empty);

  let shown = [];
  let drawnFrom = -1, drawnTo = -1, drawnVersion = -1, version = 0;

  function readFilters() {
    f.context = contextSelect.value;
    f.namespace = namespaceInput.value.trim();
    f.phase = phaseSelect.value;
    f.label = labelInput.value.trim();
    f.prefix = prefixInput.value.trim();
    const q = new URLSearchParams();
    for (const k of FILTERS) if (f[k]) q.set(k, f[k]);
    const url = location.pathname + (q.toString() ? `?${q}` : "");
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
    refresh();
  }
  for (const input of [contextSelect, phaseSelect]) input.addEventListener("change", readFilters);
  for (const input of [namespaceInput, labelInput, prefixInput]) input.addEventListener("input", readFilters);

  function drawOptions() {
    const contexts = [...store.clusters.keys()];
    const current = f.context;
    fill(contextSelect, h("option", {value: ""}, "all contexts"),
      contexts.map((c) => h("option", {value: c, selected: c === current}, c)));
    const all = new Set();
    for (const rows of store.rows.values()) for (const r of rows.values()) all.add(r.namespace);
    fill(namespaces, ...[...all].sort().map((n) => h("option", {value: n})));
  }

  function drawBanners() {
    fill(banners, ...[...store.clusters].filter(([, c]) => c.health === "unreachable").map(([context, c]) =>
      h("p", {class: "banner bad", role: "alert", dataset: {context}},
        h("strong", {}, context), ": not answering (", c.error || "unknown error", "); its workflows are not shown, retrying.")));
  }

  function refresh() {
    const all = [];
    for (const rows of store.rows.values()) for (const r of rows.values()) if (matches(r, f)) all.push(r);
    all.sort(newestFirst);
    shown = all;
    version++;
    spacer.style.height = `${shown.length * ROW}px`;
    const total = [...store.rows.values()].reduce((n, r) => n + r.size, 0);
    count.textContent = `${shown.length} of ${total} workflows`;
    empty.textContent = !store.loaded() ? "Loading…" : shown.length ? "" : "No workflows match.";
    drawOptions();
    drawBanners();
    draw();
    // For bench/ui.sh: when the full list was first on screen.
    if (store.loaded() && shown.length && !performance.getEntriesByName("argo-ui:list").length) {
      performance.mark("argo-ui:list");
    }
  }

  function draw() {
    const top = scroller.scrollTop;
    const from = Math.max(0, Math.floor(top / ROW) - SPARE);
    const to = Math.min(shown.length, Math.ceil((top + scroller.clientHeight) / ROW) + SPARE);
    if (from === drawnFrom && to === drawnTo && version === drawnVersion) return;
    drawnFrom = from; drawnTo = to; drawnVersion = version;
    rowsEl.style.transform = `translateY(${from * ROW}px)`;
    fill(rowsEl, ...shown.slice(from, to).map(rowEl));
  }

  scroller.addEventListener("scroll", () => requestAnimationFrame(draw), {passive: true});
  const resize = () => requestAnimationFrame(draw);
  window.addEventListener("resize", resize);
  const onKey = (e) => {
    if (e.key === "/" && document.activeElement.tagName !== "INPUT") {
      e.preventDefault();
      prefixInput.focus();
    }
  };
  document.addEventListener("keydown", onKey);
  store.listeners.add(refresh);
  // Ages and running durations move on without any change on the server.
  const tick = setInterval(() => { version++; draw(); }, 5000);
  requestAnimationFrame(refresh);
  return {
    el,
    leave() {
      store.listeners.delete(refresh);
      window.removeEventListener("resize", resize);
      document.removeEventListener("keydown", onKey);
      clearInterval(tick);
    },
  };
}

function rowEl(r) {
  const suspended = r.status.includes("Suspended");
  const phase = phaseOf(r.phase, suspended);
  const href = workflowPath(r.context, r.namespace, r.name);
  return h("a", {class: `row phase-row-${phase}`, role: "row", href, "data-link": true, title: r.message || ""},
    h("span", {role: "cell"}, r.context),
    h("span", {role: "cell"}, r.namespace),
    h("span", {role: "cell", class: "name"}, r.name),
    h("span", {role: "cell"}, phaseBadge(phase, r.status)),
    h("span", {role: "cell"}, r.progress || ""),
    h("span", {role: "cell"}, timeEl(r.started || r.created)),
    h("span", {role: "cell"}, r.started ? duration(between(r.started, r.finished)) : ""),
    h("span", {role: "cell"}, r.project || ""));
}

