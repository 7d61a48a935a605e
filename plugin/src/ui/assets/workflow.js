// One workflow, live: its graph, its node tree as `kubectl argo get` prints
// it, the chosen node's panel, and the actions the CLI has.

import { h, icon, phaseBadge, phaseOf, nodePhase, templateOf, duration, between, timeEl, call, follow, toast, confirmDialog,
  parsePairs, workflowPath, apiBase, navigate, fill } from "./util.js";
import { graphView } from "./graph.js";
import { nodePanel } from "./node.js";

const DONE = ["Succeeded", "Failed", "Error"];

/** Which actions make sense in which state, as the CLI refuses the others. */
const ACTIONS = [
  {name: "retry", label: "Retry", when: (p) => p === "Failed" || p === "Error",
    text: "Re-run the failed nodes of this workflow.", fields: [{name: "parameters", label: "New parameter values (NAME=VALUE, comma-separated)"}]},
  {name: "resubmit", label: "Resubmit", when: () => true,
    text: "Submit a new workflow with the same spec.", fields: [{name: "parameters", label: "Parameter values (NAME=VALUE, comma-separated)"}]},
  {name: "suspend", label: "Suspend", when: (p, s) => !DONE.includes(p) && !s, text: "No new nodes start until it is resumed."},
  {name: "resume", label: "Resume", when: (p, s) => !DONE.includes(p) && s,
    text: "Resume the workflow and its suspend nodes.", fields: [{name: "parameters", label: "Supplied outputs (NAME=VALUE, comma-separated)"}]},
  {name: "stop", label: "Stop", when: (p) => !DONE.includes(p), text: "Running nodes stop; exit handlers still run.",
    fields: [{name: "message", label: "Why (becomes the workflow's message)"}]},
  {name: "terminate", label: "Terminate", when: (p) => !DONE.includes(p), text: "Running nodes stop; exit handlers do not run."},
  {name: "delete", label: "Delete", when: () => true, text: "Delete the workflow and its pods. This cannot be undone.", danger: true},
];

/** The node tree, as `kubectl argo get` prints it. */
function treeRows(wf) {
  const nodes = wf.status?.nodes || {};
  const root = nodes[wf.metadata.name] ? wf.metadata.name
    : Object.keys(nodes).find((id) => !Object.values(nodes).some((n) => (n.children || []).includes(id)));
  const rows = [];
  const seen = new Set();
  // Depth first without recursion: a chain of thousands is as deep.
  const walk = (start) => {
    const stack = [[start, 0]];
    while (stack.length) {
      const [id, depth] = stack.pop();
      const n = nodes[id];
      if (!n || seen.has(id)) continue;
      seen.add(id);
      const group = n.type === "StepGroup" || n.type === "TaskGroup";
      if (!group || depth === 0) rows.push([n, depth]);
      const next = group ? depth : depth + 1;
      for (const c of [...(n.children || [])].reverse()) stack.push([c, next]);
    }
  };
  if (root) walk(root);
  const exit = nodes[`${wf.metadata.name}.onExit`];
  if (exit) walk(exit.id);
  return rows;
}

export function renderWorkflow([context, namespace, name], query) {
  const base = workflowPath(context, namespace, name);
  let wf = null;
  let selected = query.get("node");
  let firstTab = query.get("tab") || undefined;
  let treeSig = "";
  const treeEls = new Map();

  const select = (id) => navigate(`${base}?node=${encodeURIComponent(id)}`);
  const graph = graphView(select);
  const panel = nodePanel(() => navigate(base), select);
  const title = h("h1", {}, name);
  const badge = h("span");
  const meta = h("dl", {class: "meta"});
  const message = h("p", {class: "message"});
  const banner = h("p", {class: "banner", hidden: true, role: "alert"});
  const actions = h("div", {class: "actions", role: "toolbar", "aria-label": "Actions"});
  const tree = h("div", {class: "tree", role: "tree", "aria-label": "Nodes"});
  const side = h("div", {class: "side"}, tree);
  const el = h("section", {class: "page workflow-page"},
    h("nav", {class: "crumbs", "aria-label": "Breadcrumb"}, h("a", {href: "/", "data-link": true}, "Workflows"), " / ",
      h("a", {href: `/?context=${encodeURIComponent(context)}`, "data-link": true}, context), " / ",
      h("a", {href: `/?context=${encodeURIComponent(context)}&namespace=${encodeURIComponent(namespace)}`, "data-link": true}, namespace)),
    h("div", {class: "title"}, title, badge), message, banner, meta, actions,
    h("div", {class: "split"}, graph.el, side));

  function drawHeader() {
    const nodes = wf.status?.nodes || {};
    const suspended = wf.spec?.suspend === true || Object.values(nodes).some((n) => nodePhase(n) === "Suspended");
    const phase = phaseOf(wf.status?.phase, suspended);
    fill(badge, phaseBadge(phase));
    message.textContent = wf.status?.message || "";
    const labels = wf.metadata.labels || {};
    const params = wf.spec?.arguments?.parameters || [];
    fill(meta, 
      h("dt", {}, "Context"), h("dd", {}, context),
      h("dt", {}, "Namespace"), h("dd", {}, namespace),
      h("dt", {}, "Project"), h("dd", {}, labels["workflows.argoproj.io/project"] || "—"),
      h("dt", {}, "Started"), h("dd", {}, timeEl(wf.status?.startedAt || wf.metadata.creationTimestamp)),
      h("dt", {}, "Duration"), h("dd", {}, wf.status?.startedAt ? duration(between(wf.status.startedAt, wf.status.finishedAt)) : "—"),
      h("dt", {}, "Progress"), h("dd", {}, wf.status?.progress || "—"),
      params.length ? [h("dt", {}, "Parameters"), h("dd", {}, params.map((p) => `${p.name}=${p.value ?? ""}`).join(", "))] : null,
      wf.status?.outputs?.parameters?.length ? [h("dt", {}, "Outputs"), h("dd", {}, wf.status.outputs.parameters.map((p) => `${p.name}=${p.value ?? ""}`).join(", "))] : null);
    fill(actions, ...ACTIONS.filter((a) => a.when(wf.status?.phase || "Pending", suspended)).map((a) =>
      h("button", {type: "button", class: a.danger ? "danger" : "", "data-action": a.name, onclick: () => act(a)}, a.label)));
  }

  async function act(a) {
    const values = await confirmDialog(`${a.label} ${name}?`, a.text, a.fields || []);
    if (!values) return;
    const body = {};
    try {
      if (values.parameters) body.parameters = parsePairs(values.parameters);
    } catch (e) { return toast(e.message, true); }
    if (values.message) body.message = values.message;
    try {
      const r = await call(`${apiBase(context, namespace)}/workflows/${encodeURIComponent(name)}/${a.name}`, body);
      toast(r.message);
      if (a.name === "delete") navigate(`/?context=${encodeURIComponent(context)}`);
      if (a.name === "resubmit" && r.created) navigate(workflowPath(context, namespace, r.created));
    } catch (e) {
      toast(e.message, true);
    }
  }

  function drawTree() {
    const rows = treeRows(wf);
    const sig = rows.map(([n, d]) => n.id + ":" + d).join("|");
    if (sig !== treeSig) {
      treeSig = sig;
      treeEls.clear();
      fill(tree, ...rows.map(([n, depth]) => {
        const row = h("div", {class: "tree-row", role: "treeitem", tabindex: "0", "aria-level": depth + 1, "data-id": n.id,
          style: `padding-left:${0.4 + Math.min(depth, 12) * 1.1}rem`,
          onclick: () => select(n.id), onkeydown: (e) => { if (e.key === "Enter") select(n.id); }});
        treeEls.set(n.id, row);
        return row;
      }));
    }
    for (const [n] of rows) {
      const row = treeEls.get(n.id);
      const phase = nodePhase(n);
      const secs = n.startedAt ? duration(between(n.startedAt, n.finishedAt)) : "";
      const key = `${phase}|${secs}|${n.message || ""}|${n.id === selected}`;
      if (row.dataset.key === key) continue;
      row.dataset.key = key;
      row.classList.toggle("selected", n.id === selected);
      fill(row, icon(phase), " ", h("span", {class: "tree-name"}, n.displayName || n.name),
        h("span", {class: "muted"}, ` ${templateOf(n)}`), h("span", {class: "tree-time"}, secs),
        n.message ? h("span", {class: "tree-msg"}, n.message) : null);
    }
  }

  function drawPanel(tab) {
    if (selected && wf) {
      if (!panel.el.isConnected) side.prepend(panel.el);
      panel.show(context, namespace, wf, selected, tab);
    } else if (panel.el.isConnected) {
      panel.close();
      panel.el.remove();
    }
  }

  const stop = follow(`${apiBase(context, namespace)}/workflows/${encodeURIComponent(name)}/stream`, {
    workflow(raw) {
      wf = JSON.parse(raw);
      banner.hidden = true;
      drawHeader();
      graph.update(wf.status?.nodes, selected);
      drawTree();
      drawPanel(firstTab);
      firstTab = undefined;
    },
    gone(why) { banner.textContent = why; banner.className = "banner bad"; banner.hidden = false; actions.replaceChildren(); },
    failure(why) { banner.textContent = `Not updating: ${why}`; banner.className = "banner bad"; banner.hidden = false; },
  });
  document.title = `${name} · kubectl argo ui`;
  return {
    el,
    /** The same workflow with another node chosen: no new feed, no redraw. */
    query(q) {
      selected = q.get("node");
      graph.select(selected);
      if (wf) { drawTree(); drawPanel(q.get("tab") || undefined); }
    },
    leave() { stop(); panel.close(); document.title = "Workflows · kubectl argo ui"; },
  };
}
