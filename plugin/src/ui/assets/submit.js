// Submit workflows from YAML: checked as `kubectl argo submit` checks them
// (nothing is created if anything is wrong), problems shown at their line.

import { h, call, toast, workflowPath, navigate, fill } from "./util.js";
import { store } from "./store.js";

const EXAMPLE = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-world-
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [echo, hello world]
`;

export function renderSubmit() {
  const contexts = [...store.clusters.keys()];
  const context = h("select", {id: "s-context", "aria-label": "Context"}, contexts.map((c) => h("option", {value: c}, c)));
  const namespace = h("input", {id: "s-namespace", placeholder: "namespace (default: the context's)", "aria-label": "Namespace"});
  const text = h("textarea", {id: "s-yaml", spellcheck: "false", rows: 24, "aria-label": "Workflow YAML"});
  text.value = EXAMPLE;
  const gutter = h("pre", {class: "gutter", "aria-hidden": "true"});
  const problems = h("ul", {class: "problems", "aria-live": "polite"});
  const button = h("button", {type: "submit", class: "primary"}, "Submit");
  const drawGutter = (bad = new Set()) => {
    const n = text.value.split("\n").length;
    fill(gutter, ...Array.from({length: n}, (_, i) => h("span", {class: bad.has(i + 1) ? "bad-line" : ""}, `${i + 1}\n`)));
    gutter.scrollTop = text.scrollTop;
  };
  text.addEventListener("input", () => drawGutter());
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  const form = h("form", {class: "submit-form", onsubmit: async (e) => {
    e.preventDefault();
    problems.replaceChildren();
    button.disabled = true;
    try {
      const r = await call(`/api/clusters/${encodeURIComponent(context.value)}/submit`, {namespace: namespace.value.trim(), yaml: text.value});
      const first = r.created[0];
      toast(`created ${r.created.map((c) => c.name).join(", ")}`);
      navigate(workflowPath(context.value, first.namespace, first.name));
    } catch (err) {
      const findings = err.data?.findings;
      if (findings) {
        drawGutter(new Set(findings.map((f) => f.line)));
        fill(problems, ...findings.map((f) => h("li", {class: "bad"},
          h("button", {type: "button", class: "link", onclick: () => goToLine(text, f.line)}, `line ${f.line}`), `: ${f.path}: ${f.message}`)));
      } else {
        fill(problems, h("li", {class: "bad"}, err.message));
      }
    } finally {
      button.disabled = false;
    }
  }},
  h("div", {class: "filters"}, context, namespace, button),
  h("div", {class: "editor"}, gutter, text), problems);
  drawGutter();
  return {el: h("section", {class: "page"}, h("h1", {}, "Submit a workflow"),
    h("p", {class: "muted"}, "Checked as kubectl argo submit checks it; nothing is created while anything is wrong."), form)};
}

function goToLine(text, line) {
  const lines = text.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  text.focus();
  text.setSelectionRange(start, start + (lines[line - 1] || "").length);
  text.scrollTop = (line - 3) * parseFloat(getComputedStyle(text).lineHeight || "18");
}
