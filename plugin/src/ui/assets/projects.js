// Each cluster's WorkflowProjects: their rules, and the namespaces each
// one governs (the most specific match wins, as the webhook decides).

import { h, call, fill } from "./util.js";

function list(values) {
  return values && values.length ? values.join(", ") : "—";
}

function rules(spec) {
  const sec = spec.security || {};
  return h("dl", {class: "fields"},
    h("dt", {}, "Namespaces"), h("dd", {}, list(spec.namespaces)),
    h("dt", {}, "Images"), h("dd", {}, list(spec.images)),
    h("dt", {}, "Service accounts"), h("dd", {}, list(spec.serviceAccounts)),
    h("dt", {}, "Submitters"), h("dd", {}, spec.submitters ? JSON.stringify(spec.submitters) : "anyone RBAC lets create workflows"),
    h("dt", {}, "Security"), h("dd", {}, Object.keys(sec).length ? JSON.stringify(sec) : "—"),
    h("dt", {}, "Required limits"), h("dd", {}, list(spec.requiredLimits)),
    spec.maxParallelism !== undefined ? [h("dt", {}, "Max parallelism"), h("dd", {}, spec.maxParallelism)] : null,
    spec.maxActiveDeadlineSeconds !== undefined ? [h("dt", {}, "Max deadline"), h("dd", {}, `${spec.maxActiveDeadlineSeconds}s`)] : null);
}

export function renderProjects() {
  const body = h("div", {}, h("p", {class: "muted"}, "Loading…"));
  call("/api/projects").then((clusters) => {
    fill(body, ...clusters.map((c) => {
      if (c.error) return h("section", {class: "cluster-projects", dataset: {context: c.context}}, h("h2", {}, c.context), h("p", {class: "banner bad"}, c.error));
      const governed = c.namespaces || {};
      const namespacesOf = (name) => governed.error ? "(cannot list namespaces: " + governed.error + ")" : list(governed[name]);
      const orphans = Object.entries(governed).filter(([k]) => k.startsWith("(none"));
      return h("section", {class: "cluster-projects", dataset: {context: c.context}}, h("h2", {}, c.context),
        c.projects.length ? c.projects.map((p) => h("article", {class: "project", dataset: {project: p.name}},
          h("h3", {}, p.name), p.spec?.description ? h("p", {}, p.spec.description) : null,
          rules(p.spec || {}),
          h("p", {}, h("strong", {}, "Governs: "), namespacesOf(p.name)),
          h("details", {}, h("summary", {}, "Spec as stored"), h("pre", {}, JSON.stringify(p.spec, null, 2)))))
          : h("p", {class: "muted"}, "No WorkflowProjects in this cluster."),
        orphans.map(([why, ns]) => h("p", {class: "banner bad"}, `${list(ns)}: ${why}`)));
    }));
  }, (e) => fill(body, h("p", {class: "banner bad"}, e.message)));
  return {el: h("section", {class: "page"}, h("h1", {}, "Projects"), body)};
}
