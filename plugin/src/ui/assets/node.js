// One node of a workflow: what it was given and produced, why it ended,
// its timings and retries, and for a pod its log (followed while it runs),
// events and the pod spec as Kubernetes has it.

import { h, phaseBadge, nodePhase, templateOf, duration, between, timeEl, call, follow, apiBase, fill } from "./util.js";

const TABS = ["Summary", "Inputs/outputs", "Logs", "Events", "Pod"];

function field(name, value) {
  if (value === undefined || value === null || value === "") return null;
  return [h("dt", {}, name), h("dd", {}, value)];
}

function params(title, list) {
  if (!list || !list.length) return null;
  return [h("h3", {}, title), h("table", {class: "kv"},
    h("tbody", {}, list.map((p) => h("tr", {}, h("th", {scope: "row"}, p.name), h("td", {}, h("pre", {}, p.value ?? "")))))) ];
}

export function nodePanel(onClose, onSelect) {
  let context = "", namespace = "", node = null, wf = null;
  let tab = "Summary";
  let closeLog = null, logFor = null;
  const body = h("div", {class: "panel-body"});
  const title = h("h2", {id: "node-title"});
  const tabs = h("div", {class: "tabs", role: "tablist"});
  const el = h("aside", {class: "panel", "aria-labelledby": "node-title"},
    h("div", {class: "panel-head"}, title,
      h("button", {type: "button", class: "close", "aria-label": "Close", onclick: onClose}, "✕")),
    tabs, body);
  el.addEventListener("keydown", (e) => { if (e.key === "Escape") onClose(); });

  function drawTabs() {
    fill(tabs, ...TABS.filter((t) => node.podName || !["Logs", "Events", "Pod"].includes(t)).map((t) =>
      h("button", {type: "button", role: "tab", "aria-selected": t === tab ? "true" : "false",
        onclick: () => { tab = t; draw(true); }}, t)));
  }

  function summary() {
    const phase = nodePhase(node);
    const exit = node.outputs?.exitCode;
    const attempts = node.type === "Retry" ? (node.children || []).map((id) => wf.status.nodes[id]).filter(Boolean) : [];
    return [
      h("dl", {class: "fields"},
        field("Phase", phaseBadge(phase)),
        field("Message", node.message),
        field("Exit code", exit),
        field("Type", node.type),
        field("Template", templateOf(node)),
        field("Name", node.name),
        field("ID", node.id),
        field("Pod", node.podName),
        field("Host", node.hostNodeName),
        field("Started", node.startedAt && timeEl(node.startedAt)),
        field("Finished", node.finishedAt && timeEl(node.finishedAt)),
        field("Duration", node.startedAt && duration(between(node.startedAt, node.finishedAt))),
        field("Resources", node.resourcesDuration && Object.entries(node.resourcesDuration).map(([k, v]) => `${v}s×${k}`).join(", "))),
      attempts.length ? [h("h3", {}, `Attempts (${attempts.length})`), h("ol", {class: "attempts"}, attempts.map((a) =>
        h("li", {}, h("button", {type: "button", class: "link", onclick: () => onSelect(a.id)},
          phaseBadge(nodePhase(a), a.displayName || a.name)), " ", a.message || "")))] : null,
    ];
  }

  function io() {
    const out = node.outputs || {};
    const parts = [
      params("Input parameters", node.inputs?.parameters),
      params("Input artifacts", node.inputs?.artifacts?.map((a) => ({name: a.name, value: a.path || JSON.stringify(a)}))),
      params("Output parameters", out.parameters),
      out.result !== undefined ? [h("h3", {}, "Result"), h("pre", {class: "result"}, out.result)] : null,
      out.exitCode !== undefined ? [h("h3", {}, "Exit code"), h("pre", {}, out.exitCode)] : null,
      params("Output artifacts", out.artifacts?.map((a) => ({name: a.name, value: a.path || JSON.stringify(a)}))),
    ].filter(Boolean);
    return parts.length ? parts : h("p", {class: "muted"}, "This node has no inputs or outputs.");
  }

  function logs() {
    const pre = h("pre", {class: "log", tabindex: "0", "aria-label": "Log"});
    const state = h("p", {class: "muted log-state"}, "Connecting…");
    const running = !["Succeeded", "Failed", "Error", "Skipped", "Omitted"].includes(node.phase);
    if (closeLog) closeLog();
    logFor = node.id;
    let lines = 0;
    const url = `${apiBase(context, namespace)}/pods/${encodeURIComponent(node.podName)}/log?container=main&follow=${running}`;
    closeLog = follow(url, {
      line(raw) {
        const text = JSON.parse(raw);
        lines++;
        const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(text + "\n");
        if (stick) pre.scrollTop = pre.scrollHeight;
        state.textContent = running ? "Following…" : "";
      },
      end() { state.textContent = lines ? "" : "The log is empty."; if (closeLog) closeLog(); closeLog = null; },
      failure(why) { state.textContent = why; state.className = "bad log-state"; if (closeLog) closeLog(); closeLog = null; },
      // The browser would reconnect and send the whole log again: stop instead.
      error() {
        if (!closeLog) return;
        closeLog(); closeLog = null;
        state.textContent = "The log stream was cut; choose Logs again to reload it.";
      },
    });
    return [state, pre];
  }

  function events() {
    const box = h("div", {}, h("p", {class: "muted"}, "Loading…"));
    call(`${apiBase(context, namespace)}/pods/${encodeURIComponent(node.podName)}`).then((pod) => {
      fill(box, pod.events.length ? h("table", {class: "events"},
        h("thead", {}, h("tr", {}, ["Type", "Reason", "Age", "Message"].map((c) => h("th", {}, c)))),
        h("tbody", {}, pod.events.map((e) => h("tr", {class: e.type === "Warning" ? "warn" : ""},
          h("td", {}, e.type), h("td", {}, e.reason), h("td", {}, timeEl(e.at)), h("td", {}, e.message, e.count > 1 ? ` (×${e.count})` : "")))))
        : h("p", {class: "muted"}, pod.exists ? "No events." : "The pod is gone, and its events with it."));
    }, (e) => fill(box, h("p", {class: "bad"}, e.message)));
    return box;
  }

  function pod() {
    const box = h("div", {}, h("p", {class: "muted"}, "Loading…"));
    call(`${apiBase(context, namespace)}/pods/${encodeURIComponent(node.podName)}`).then((p) => {
      fill(box, p.spec ? h("pre", {class: "yaml"}, p.spec) : h("p", {class: "muted"}, "The pod is gone (deleted after the workflow finished, or never created)."));
    }, (e) => fill(box, h("p", {class: "bad"}, e.message)));
    return box;
  }

  function draw(tabChanged) {
    fill(title, node.displayName || node.name || node.id);
    drawTabs();
    // The log and fetched tabs keep their content while the node updates.
    if (!tabChanged && (tab === "Logs" && logFor === node.id || tab === "Events" || tab === "Pod")) return;
    if (tab !== "Logs" && closeLog) { closeLog(); closeLog = null; logFor = null; }
    const content = {Summary: summary, "Inputs/outputs": io, Logs: logs, Events: events, Pod: pod}[tab]();
    fill(body, ...[content].flat(3).filter(Boolean));
  }

  return {
    el,
    show(ctx, ns, workflow, id, wantTab) {
      const changed = !node || node.id !== id;
      context = ctx; namespace = ns; wf = workflow;
      node = workflow.status?.nodes?.[id];
      if (!node) {
        title.textContent = "Node not found";
        fill(body, h("p", {class: "muted"}, `The workflow has no node ${id}.`));
        return;
      }
      if (wantTab && TABS.includes(wantTab)) tab = wantTab;
      if (!node.podName && ["Logs", "Events", "Pod"].includes(tab)) tab = "Summary";
      draw(changed || wantTab !== undefined);
    },
    close() { if (closeLog) closeLog(); closeLog = null; logFor = null; node = null; },
  };
}
