// The page's router and the one live feed every page shares: the workflow
// lists and health of every cluster. Pages are plain functions that draw
// into <main> and return what to undo when the user leaves them.

import { h, follow, navigate, toast } from "./util.js";
import { applyListEvent } from "./store.js";
import { renderList } from "./list.js";
import { renderWorkflow } from "./workflow.js";
import { renderProjects } from "./projects.js";
import { renderSubmit } from "./submit.js";

const routes = [
  [/^\/(workflows\/?)?$/, (m, q) => renderList(q)],
  [/^\/workflows\/([^/]+)\/([^/]+)\/([^/]+)$/, (m, q) => renderWorkflow(m.map(decodeURIComponent), q)],
  [/^\/projects$/, () => renderProjects()],
  [/^\/submit$/, () => renderSubmit()],
];

let current = null; // {path, view}

function render() {
  const main = document.getElementById("main");
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  if (current && current.path === path && current.view.query) return current.view.query(query);
  if (current && current.view.leave) current.view.leave();
  current = null;
  for (const a of document.querySelectorAll("nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === path || (path.startsWith("/workflows") && a.dataset.page === "list"));
  }
  for (const [re, page] of routes) {
    const m = path.match(re);
    if (m) {
      const view = page(m.slice(1), query);
      main.replaceChildren(view.el);
      current = {path, view};
      return;
    }
  }
  main.replaceChildren(h("section", {class: "page"}, h("h1", {}, "Not found"),
    h("p", {}, "No page at ", h("code", {}, path), ". ", h("a", {href: "/", "data-link": true}, "All workflows"))));
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-link]");
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", render);

// A page that fails to draw says so, instead of staying half drawn.
window.__uiErrors = [];
const report = (what) => {
  window.__uiErrors.push(String(what));
  toast(`This page failed to draw: ${what}`, true);
};
window.addEventListener("error", (e) => report(e.error && e.error.stack ? e.error.stack : e.message));
window.addEventListener("unhandledrejection", (e) => report(e.reason && e.reason.stack ? e.reason.stack : e.reason));

follow("/api/stream/workflows", {list: applyListEvent});
render();
