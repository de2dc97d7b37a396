// hub's operator page: renders /admin/api/overview every 5 s. Every value from the
// server is put into the page with textContent, never parsed as HTML: subjects, event
// types and error messages come from outside.
"use strict";

(() => {
  const REFRESH_MS = 5000;
  const LAG_STATUSES = ["OK", "WARN", "STALL", "STOPPED", "ERR"];
  const CIRCUITS = ["closed", "half_open", "open", "unknown"];
  const $ = (id) => document.getElementById(id);

  const text = (v) => (v === null || v === undefined || v === "" ? "–" : String(v));
  const secs = (v) => (v === null || v === undefined ? "?" : v.toFixed(1));
  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %");
  const dur = (v) => (v === null || v === undefined ? "–" : v.toFixed(2) + " s");
  const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–");
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many || one + "s");

  function el(tag, content, className) {
    const node = document.createElement(tag);
    if (content instanceof Node) node.append(content);
    else if (content !== undefined) node.textContent = text(content);
    if (className) node.className = className;
    return node;
  }

  function badge(value, known, prefix) {
    const safe = known.includes(value) ? value : "unknown";
    return el("span", value, "badge " + prefix + "-" + safe);
  }

  function tr(cells) {
    const row = document.createElement("tr");
    for (const c of cells) row.append(c instanceof Node && c.tagName === "TD" ? c : el("td", c));
    return row;
  }

  function fill(tbody, rows, emptyText) {
    tbody.replaceChildren(...rows);
    if (!rows.length) {
      const td = el("td", emptyText, "empty");
      td.colSpan = tbody.parentElement.querySelectorAll("thead th").length;
      tbody.append(tr([td]));
    }
  }

  async function api(path, options) {
    const res = await fetch(path, { credentials: "same-origin", ...options });
    if (res.status === 401) {
      window.location.assign("/ui/login");
      throw new Error("signed out");
    }
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }

  function renderLag(groups) {
    const rows = [];
    const reasons = [];
    for (const g of groups) {
      const topics = g.topics.length ? g.topics
        : [{ topic: "", lag: g.lag, lag_seconds: g.lag_seconds, status: g.status }];
      for (const t of topics) {
        const row = tr([g.group, t.topic, el("td", t.lag, "num"), el("td", secs(t.lag_seconds), "num"),
          el("td", badge(t.status, LAG_STATUSES, "lag")), g.state]);
        row.dataset.group = g.group;
        rows.push(row);
      }
      if (g.error) reasons.push(el("li", g.group + ": " + g.error));
      for (const r of g.reasons) reasons.push(el("li", g.group + ": " + r));
    }
    fill($("lag-rows"), rows, "no consumer groups with committed offsets");
    $("lag-reasons").replaceChildren(...reasons);
  }

  function renderDeadLetters(topics) {
    const blocks = topics.map((t) => {
      const box = el("div", undefined, "dlq-group");
      box.dataset.group = t.group;
      const head = el("h3", t.group);
      const button = el("button", "Redrive…", "redrive");
      button.type = "button";
      button.addEventListener("click", () => dryRun(t.group));
      head.append(" ", button);
      const table = el("table");
      const thead = el("thead");
      thead.append(tr(["Failed at", "Type", "Event", "Error", "Attempts", "Redriven"].map((h) => el("th", h))));
      const tbody = el("tbody");
      table.append(thead, tbody);
      fill(tbody, t.newest.map((d) => tr([el("td", when(d.failed_at), "when"), d.event_type,
        el("td", d.event_id, "id"),
        el("td", (d.error_class ? d.error_class + ": " : "") + text(d.error_message), "reason"),
        el("td", d.attempts, "num"), d.redriven ? "yes" : "no"])), "none left in the topic");
      box.append(head, el("p", plural(t.total, "dead letter") + ", " + t.redriven + " redriven", "count"),
        table);
      return box;
    });
    $("dlq-groups").replaceChildren(...(blocks.length ? blocks : [el("p", "no dead-letter topics", "empty")]));
  }

  function renderProviders(items) {
    fill($("provider-rows"), items.map((p) => tr([p.integration, p.provider,
      el("td", badge(p.state, CIRCUITS, "circuit")), el("td", p.events, "num"),
      el("td", pct(p.success_rate), "num"), el("td", dur(p.p50_s), "num"), el("td", dur(p.p99_s), "num"),
      el("td", when(p.state_since), "when")])), "no provider activity in the last hour");
  }

  function renderDrift(drift) {
    if (!drift) {
      $("drift-summary").textContent = "no reconciliation view yet (run `hub project reconciliation`)";
      fill($("drift-rows"), [], "–");
      return;
    }
    $("drift-summary").textContent = plural(drift.items, "item") + ", " + drift.drifting + " drifting";
    fill($("drift-rows"), drift.statuses.filter((s) => s.count > 0).map((s) => {
      const row = tr([s.status, el("td", s.count, "num")]);
      row.className = s.status === "matched" ? "" : "drifting";
      return row;
    }), "no items");
  }

  async function refresh() {
    try {
      const o = await api("/admin/api/overview");
      renderLag(o.groups);
      renderDeadLetters(o.dead_letters);
      renderProviders(o.providers);
      renderDrift(o.drift);
      $("refreshed").textContent = "data as of " + when(o.refreshed_at) + " (the hub refreshes every "
        + o.refresh_s + " s)";
      const errors = Object.entries(o.errors).map(([part, message]) => part + ": " + message);
      $("errors").textContent = errors.length ? "could not read " + errors.join("; ") : "";
      $("errors").hidden = !errors.length;
    } catch (err) {
      $("errors").textContent = "overview unavailable: " + err.message;
      $("errors").hidden = false;
    }
  }

  let pending = null;

  function showRedrive(title, result) {
    $("redrive").hidden = false;
    $("redrive-title").textContent = title;
    fill($("redrive-rows"), result.results.map((r) => tr([r.action, el("td", r.event_id, "id"),
      r.event_type, el("td", r.ref, "id"), el("td", r.landed || r.target, "id")])),
      "no dead letters matched");
    const counts = Object.entries(result.counts).map(([action, n]) => action + " " + n).join(", ");
    $("redrive-summary").textContent = (result.dry_run ? "Dry run: " : "") + (counts || "nothing to do")
      + (result.dry_run ? "; nothing was sent" : "");
  }

  async function redrivePost(body) {
    return api("/admin/api/dlq/redrive", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  }

  async function dryRun(group) {
    pending = null;
    $("redrive-confirm").hidden = true;
    try {
      const result = await redrivePost({ group, dry_run: true });
      const refs = result.results.filter((r) => r.action !== "already redriven").map((r) => r.ref);
      showRedrive("Redrive " + group + "?", result);
      pending = { group, refs };
      $("redrive-confirm").textContent = "Confirm redrive of " + plural(refs.length, "dead letter");
      $("redrive-confirm").hidden = refs.length === 0;
    } catch (err) {
      showRedrive("Redrive " + group, { results: [], counts: {}, dry_run: false });
      $("redrive-summary").textContent = "cannot redrive: " + err.message;
    }
  }

  async function confirmRedrive() {
    if (!pending) return;
    const { group, refs } = pending;
    pending = null;
    $("redrive-confirm").hidden = true;
    try {
      showRedrive("Redriven: " + group, await redrivePost({ group, dry_run: false, refs }));
      refresh();
    } catch (err) {
      $("redrive-summary").textContent = "redrive failed: " + err.message;
    }
  }

  async function search(event) {
    event.preventDefault();
    const subject = $("subject").value.trim();
    if (!subject) return;
    try {
      const s = await api("/admin/api/story?subject=" + encodeURIComponent(subject));
      $("story-summary").textContent = s.total
        ? plural(s.total, "entry", "entries") + " about " + s.subject
          + (s.total > s.entries.length ? " (the newest " + s.entries.length + " shown)" : "")
        : "nothing in the audit log about " + s.subject;
      fill($("story-rows"), s.entries.map((e) => tr([el("td", when(e.time), "when"), e.kind,
        e.event_type, e.summary,
        e.source])), "–");
    } catch (err) {
      $("story-summary").textContent = "search failed: " + err.message;
      fill($("story-rows"), [], "–");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("redrive-confirm").addEventListener("click", confirmRedrive);
    $("redrive-cancel").addEventListener("click", () => { $("redrive").hidden = true; pending = null; });
    $("story-form").addEventListener("submit", search);
    refresh();
    window.setInterval(refresh, REFRESH_MS);
  });
})();
