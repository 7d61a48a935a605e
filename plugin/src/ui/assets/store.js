// The one live feed every page shares: the workflow lists and health of
// every cluster the UI shows.

import { h, fill } from "./util.js";

/** Every cluster's rows and health, kept by the list feed. */
export const store = {
  clusters: new Map(), // context -> {health, error, namespace}
  rows: new Map(), // context -> Map("ns/name" -> row)
  listeners: new Set(),
  reset: new Set(), // contexts whose full list has come
  /** Every cluster has sent its list or is known not to answer. */
  loaded() {
    return [...this.clusters].every(([c, v]) => this.reset.has(c) || v.health === "unreachable");
  },
  changed() { for (const fn of this.listeners) fn(); },
};

export function applyListEvent(raw) {
  const e = JSON.parse(raw);
  if (e.kind === "cluster") {
    store.clusters.set(e.context, {health: e.health, error: e.error, namespace: e.namespace});
    if (!store.rows.has(e.context)) store.rows.set(e.context, new Map());
    drawClusters();
    scheduleChange();
  } else if (e.kind === "reset") {
    store.rows.set(e.context, new Map(e.rows.map((r) => [`${r.namespace}/${r.name}`, r])));
    store.reset.add(e.context);
  } else if (e.kind === "upsert") {
    const rows = store.rows.get(e.row.context) || new Map();
    rows.set(`${e.row.namespace}/${e.row.name}`, e.row);
    store.rows.set(e.row.context, rows);
  } else if (e.kind === "delete") {
    store.rows.get(e.context)?.delete(`${e.namespace}/${e.name}`);
  }
  scheduleChange();
}

let pending = false;
function scheduleChange() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; store.changed(); });
}

function drawClusters() {
  const list = document.getElementById("clusters");
  fill(list, ...[...store.clusters].map(([context, c]) => h("li", {
    class: `cluster health-${c.health}`,
    title: c.error || (c.namespace ? `namespace ${c.namespace} only` : "all namespaces"),
    dataset: {context},
  }, h("span", {class: "dot", "aria-hidden": "true"}), context, c.health === "ready" ? "" : ` (${c.health})`)));
}

