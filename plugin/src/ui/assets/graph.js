// A workflow's nodes as upstream draws them: layered top to bottom by
// dagre, coloured by phase. A node with many children (a loop's items, a
// retry's attempts) shows the first few and the last, and one "N hidden
// nodes" box for the rest that expands on click. Updates recolour in place;
// only a change of shape lays the graph out again.

import dagre from "./vendor/dagre-3.1.3.esm.js";
import { s, h, nodePhase, templateOf, ICONS, fill } from "./util.js";

const LIMIT = 12; // children shown before a node's children are grouped
const HEAD = 4; // ... of which the first ones
const BOX = {width: 170, height: 30};
const DOT = {width: 12, height: 12};

function isDot(n) {
  return n.type === "StepGroup" || n.type === "TaskGroup";
}

function label(n) {
  const name = n.displayName || n.name || n.id;
  return name.length > 22 ? name.slice(0, 21) + "…" : name;
}

/** What is drawn: visible nodes, "hidden" boxes, and the edges between. */
export function shape(nodes, expanded) {
  const parents = new Map();
  for (const n of Object.values(nodes)) {
    for (const c of n.children || []) {
      if (!nodes[c]) continue;
      if (!parents.has(c)) parents.set(c, []);
      parents.get(c).push(n.id);
    }
  }
  // Kahn's order: every parent before its children.
  const indegree = new Map(Object.keys(nodes).map((id) => [id, (parents.get(id) || []).length]));
  const queue = Object.keys(nodes).filter((id) => indegree.get(id) === 0).sort();
  const order = [];
  while (queue.length) {
    const id = queue.shift();
    order.push(id);
    for (const c of nodes[id].children || []) {
      if (!indegree.has(c)) continue;
      indegree.set(c, indegree.get(c) - 1);
      if (indegree.get(c) === 0) queue.push(c);
    }
  }
  // A cycle (a corrupt status) must not hide nodes: draw the rest as roots.
  for (const id of Object.keys(nodes)) if (indegree.get(id) > 0) order.push(id);

  const grouped = new Map(); // parent -> Set of its grouped children
  for (const n of Object.values(nodes)) {
    const kids = (n.children || []).filter((c) => nodes[c]);
    if (kids.length > LIMIT && !expanded.has(n.id)) grouped.set(n.id, new Set(kids.slice(HEAD, -1)));
  }
  const rep = new Map(); // node -> what stands for it: itself or a hidden box
  const boxes = new Map(); // hidden box id -> {parent, count}
  for (const id of order) {
    let stand = null;
    for (const p of parents.get(id) || []) {
      const viaGroup = rep.get(p) === p && grouped.get(p)?.has(id);
      if (rep.get(p) === p && !viaGroup) { stand = id; break; }
      if (stand === null) stand = viaGroup ? `hidden:${p}` : rep.get(p);
    }
    if (stand === null) stand = id;
    rep.set(id, stand);
    if (stand !== id) {
      const box = boxes.get(stand) || {parent: stand.slice(7), count: 0};
      box.count++;
      boxes.set(stand, box);
    }
  }
  const edges = new Set();
  for (const [c, ps] of parents) {
    for (const p of ps) {
      const a = rep.get(p), b = rep.get(c);
      if (a && b && a !== b) edges.add(`${a}\u0000${b}`);
    }
  }
  const visible = order.filter((id) => rep.get(id) === id);
  return {visible, boxes, edges: [...edges].map((e) => e.split("\u0000"))};
}

/**
 * Positions for `ids` (top to bottom) and the points of each edge: dagre's
 * layout, or, where dagre gives up (its recursion overflows the stack on a
 * chain of a few thousand), plain layers by longest path.
 */
function layout(ids, edges, size) {
  try {
    const g = new dagre.graphlib.Graph();
    g.setGraph({rankdir: "TB", nodesep: 14, ranksep: 34, marginx: 16, marginy: 16});
    g.setDefaultEdgeLabel(() => ({}));
    for (const id of ids) g.setNode(id, {...size(id)});
    for (const [a, b] of edges) g.setEdge(a, b);
    dagre.layout(g);
    const {width, height} = g.graph();
    return {width, height, at: (id) => g.node(id), points: (a, b) => g.edge(a, b).points};
  } catch (e) {
    console.warn("dagre could not lay this graph out, using plain layers:", e);
    return layers(ids, edges, size);
  }
}

function layers(ids, edges, size) {
  const rank = new Map(ids.map((id) => [id, 0]));
  // `ids` come parents first (Kahn's order), so one pass finds longest paths.
  const out = new Map();
  for (const [a, b] of edges) (out.get(a) || out.set(a, []).get(a)).push(b);
  for (const id of ids) for (const b of out.get(id) || []) rank.set(b, Math.max(rank.get(b), rank.get(id) + 1));
  const rows = [];
  for (const id of ids) (rows[rank.get(id)] ||= []).push(id);
  const pos = new Map();
  let width = 0;
  rows.forEach((row, r) => {
    row.forEach((id, i) => pos.set(id, {x: 16 + BOX.width / 2 + i * (BOX.width + 14), y: 16 + BOX.height / 2 + r * (BOX.height + 34)}));
    width = Math.max(width, 32 + row.length * (BOX.width + 14));
  });
  const height = 32 + rows.length * (BOX.height + 34);
  const at = (id) => pos.get(id);
  const points = (a, b) => {
    const p = at(a), q = at(b);
    return [{x: p.x, y: p.y + size(a).height / 2}, {x: q.x, y: q.y - size(b).height / 2}];
  };
  return {width, height, at, points};
}

export function graphView(onSelect) {
  const expanded = new Set();
  let zoom = 1;
  let last = null; // {signature, groups: Map id -> <g>}
  let nodes = {};
  let selected = null;
  const svgBox = h("div", {class: "graph-canvas"});
  const expandAll = h("button", {type: "button", onclick: () => {
    if (expanded.size) expanded.clear();
    else for (const n of Object.values(nodes)) expanded.add(n.id);
    redraw(true);
  }}, "Expand all");
  const zoomBy = (k) => () => { zoom = Math.min(2, Math.max(0.1, zoom * k)); resize(); };
  const el = h("div", {class: "graph"},
    h("div", {class: "graph-tools"},
      h("button", {type: "button", onclick: zoomBy(1 / 1.25), "aria-label": "Zoom out"}, "−"),
      h("button", {type: "button", onclick: zoomBy(1.25), "aria-label": "Zoom in"}, "+"),
      h("button", {type: "button", onclick: () => { zoom = 1; resize(); }}, "100%"),
      expandAll),
    svgBox);

  function resize() {
    const svg = svgBox.querySelector("svg");
    if (!svg) return;
    svg.setAttribute("width", svg.dataset.w * zoom);
    svg.setAttribute("height", svg.dataset.h * zoom);
  }

  function redraw(force = false) {
    const signature = Object.values(nodes).reduce((n, x) => n + (x.children || []).length, 0)
      + "/" + Object.keys(nodes).length + "/" + [...expanded].join(",");
    if (!force && last && last.signature === signature) return recolour();
    const started = performance.now();
    const {visible, boxes, edges} = shape(nodes, expanded);
    const size = (id) => (boxes.has(id) || !isDot(nodes[id]) ? BOX : DOT);
    const {width, height, at, points} = layout([...visible, ...boxes.keys()], edges, size);
    const groups = new Map();
    const edgeEls = edges.map(([a, b]) => {
      const pts = points(a, b);
      return s("path", {class: "edge", d: "M" + pts.map((p) => `${p.x},${p.y}`).join("L")});
    });
    const nodeEls = visible.map((id) => {
      const n = nodes[id], p = at(id);
      const group = s("g", {class: "node", transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button",
        "data-id": id, "data-name": n.displayName || n.name || id});
      if (isDot(n)) {
        group.append(s("circle", {r: 6}));
      } else {
        group.append(s("rect", {x: -BOX.width / 2, y: -BOX.height / 2, width: BOX.width, height: BOX.height, rx: 5}),
          s("text", {class: "glyph", x: -BOX.width / 2 + 12, y: 5}, ""),
          s("text", {x: -BOX.width / 2 + 26, y: 5}, label(n)));
      }
      group.append(s("title", {}, ""));
      group.addEventListener("click", () => onSelect(id));
      group.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onSelect(id); } });
      groups.set(id, group);
      return group;
    });
    const boxEls = [...boxes].map(([id, box]) => {
      const p = at(id);
      const open = () => { expanded.add(box.parent); redraw(true); };
      const group = s("g", {class: "node hidden-box", transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button",
        "data-id": id, onclick: open, onkeydown: (e) => { if (e.key === "Enter") open(); }},
      s("rect", {x: -BOX.width / 2, y: -BOX.height / 2, width: BOX.width, height: BOX.height, rx: 5}),
      s("text", {x: 0, y: 5, "text-anchor": "middle"}, `${box.count} hidden nodes`),
      s("title", {}, "Show them all"));
      return group;
    });
    const svg = s("svg", {viewBox: `0 0 ${width} ${height}`, "data-w": width, "data-h": height, role: "img",
      "aria-label": `Graph of ${visible.length} nodes`}, s("g", {}, ...edgeEls), s("g", {}, ...nodeEls, ...boxEls));
    fill(svgBox, svg);
    const first = !last;
    last = {signature, groups};
    expandAll.textContent = expanded.size ? "Group" : "Expand all";
    resize();
    recolour();
    // Start with the first node in sight: a wide graph's root is mid-way.
    const root = visible[0] && at(visible[0]);
    if (first && root) svgBox.scrollLeft = Math.max(0, root.x * zoom - svgBox.clientWidth / 2);
    // For bench/ui.sh: how long each layout took.
    performance.measure("argo-ui:layout", {start: started, detail: visible.length + boxes.size});
  }

  function recolour() {
    for (const [id, group] of last.groups) {
      const n = nodes[id];
      if (!n) continue;
      const phase = nodePhase(n);
      const cls = `node phase-${phase}${id === selected ? " selected" : ""}${isDot(n) ? " dot" : ""}`;
      if (group.getAttribute("class") !== cls) group.setAttribute("class", cls);
      group.setAttribute("aria-label", `${n.displayName || n.name}: ${phase}`);
      const glyph = group.querySelector(".glyph");
      if (glyph) glyph.textContent = ICONS[phase] || ICONS.Unknown;
      group.querySelector("title").textContent = `${n.displayName || n.name} (${templateOf(n) || n.type}): ${phase}${n.message ? " — " + n.message : ""}`;
    }
  }

  return {
    el,
    update(next, sel) {
      nodes = next || {};
      selected = sel;
      redraw();
    },
    select(id) {
      selected = id;
      if (last) recolour();
    },
  };
}
