// Small helpers every page uses. Everything a cluster sends (names,
// messages, logs) goes into the page as text, never as markup.

/** An element: h("a", {href: "/", class: "x"}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    // Through the CSSOM: the page's policy forbids style attributes.
    else if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** Replaces `el`'s children; nulls and falses are skipped, arrays flattened. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

// Upstream's phase icons and colours (see app.css for the colours).
export const ICONS = {
  Succeeded: "✔", Failed: "✖", Error: "⚠", Running: "◔", Pending: "◷",
  Skipped: "⊘", Omitted: "⊘", Suspended: "⏸", Unknown: "?",
};

export function phaseOf(phase, suspended) {
  if (suspended && (phase === "Running" || !phase)) return "Suspended";
  return phase || "Pending";
}

/** A node's phase as shown: a running suspend node is Suspended. */
export function nodePhase(n) {
  return phaseOf(n.phase, n.type === "Suspend" && n.phase === "Running");
}

/** A node's template as upstream shows it: a templateRef as `owner/name`
 * (resolved references are named `namespaced/owner/name`). */
export function templateOf(n) {
  if (n.templateRef) return `${n.templateRef.name}/${n.templateRef.template}`;
  const t = n.templateName || "";
  const m = /^(?:namespaced|cluster)\/([^/]+\/[^/]+)$/.exec(t);
  return m ? m[1] : t;
}

export function icon(phase) {
  const p = ICONS[phase] ? phase : "Unknown";
  return h("span", {class: `icon phase-${p}`, "aria-hidden": "true"}, ICONS[p]);
}

export function phaseBadge(phase, text) {
  return h("span", {class: `badge phase-${phase}`}, icon(phase), " ", text || phase);
}

/** "3m 20s" from seconds. */
export function duration(secs) {
  if (secs === null || secs === undefined || isNaN(secs)) return "";
  secs = Math.max(0, Math.round(secs));
  const d = Math.floor(secs / 86400), hr = Math.floor(secs / 3600) % 24;
  const m = Math.floor(secs / 60) % 60, sec = secs % 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

export function between(start, end) {
  if (!start) return null;
  const a = Date.parse(start), b = end ? Date.parse(end) : Date.now();
  return (b - a) / 1000;
}

/** "5m ago" for a timestamp; the full time goes in a title. */
export function ago(t) {
  if (!t) return "";
  return duration((Date.now() - Date.parse(t)) / 1000) + " ago";
}

export function timeEl(t) {
  if (!t) return h("span", {class: "muted"}, "—");
  return h("time", {datetime: t, title: new Date(t).toLocaleString()}, ago(t));
}

export function workflowPath(context, namespace, name) {
  return `/workflows/${encodeURIComponent(context)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export function apiBase(context, namespace) {
  return `/api/clusters/${encodeURIComponent(context)}/namespaces/${encodeURIComponent(namespace)}`;
}

/** JSON from the server; throws an Error carrying the server's words. */
export async function call(url, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body),
  };
  const r = await fetch(url, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = {error: text}; }
  if (!r.ok) {
    const e = new Error((data && data.error) || `${r.status} ${r.statusText}`);
    e.status = r.status;
    e.data = data;
    throw e;
  }
  return data;
}

/** Follows a server-sent event feed; returns the function that closes it. */
export function follow(url, handlers) {
  const es = new EventSource(url);
  for (const [event, fn] of Object.entries(handlers)) {
    if (event === "error") es.onerror = fn;
    else es.addEventListener(event, (e) => fn(e.data));
  }
  return () => es.close();
}

let toastTimer = 0;
export function toast(text, bad = false) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = "toast show" + (bad ? " bad" : "");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = "toast"; }, bad ? 8000 : 4000);
}

/**
 * Asks before acting: resolves to the values of `fields` ({name, label,
 * placeholder}) when the user confirms, or null.
 */
export function confirmDialog(title, text, fields = []) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const box = document.getElementById("confirm-fields");
  box.replaceChildren(...fields.map((f) => h("label", {}, f.label,
    h("input", {name: f.name, placeholder: f.placeholder || "", autocomplete: "off"}))));
  return new Promise((resolve) => {
    dialog.onclose = () => {
      if (dialog.returnValue !== "ok") return resolve(null);
      const values = {};
      for (const input of box.querySelectorAll("input")) values[input.name] = input.value;
      resolve(values);
    };
    dialog.returnValue = "";
    dialog.showModal();
    (box.querySelector("input") || document.getElementById("confirm-ok")).focus();
  });
}

/** NAME=VALUE lines or comma-separated pairs into a map; throws on a bad one. */
export function parsePairs(text) {
  const out = {};
  for (const part of (text || "").split(/[\n,]/).map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf("=");
    if (i <= 0) throw new Error(`${part}: expected NAME=VALUE`);
    out[part.slice(0, i).trim()] = part.slice(i + 1);
  }
  return out;
}

/** Goes to `url` inside the page; the back button comes back. */
export function navigate(url, replace = false) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
}
