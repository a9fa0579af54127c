// The operations dashboard: polls /ui/api/overview; requeue buttons POST with the operator
// cookie and a header a cross-site form cannot send.
"use strict";
(() => {
  const $ = (name) => document.getElementById(name);
  const POLL_MS = 2000;
  let previous = null;

  function cell(text, numeric) {
    const td = document.createElement("td");
    if (numeric) td.className = "n";
    td.textContent = text === null || text === undefined ? "–" : String(text);
    return td;
  }

  function fill(table, rows) {
    const body = $(table).tBodies[0];
    body.replaceChildren(...rows);
  }

  function bytes(n) {
    if (n === undefined || n === null) return "–";
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }

  function button(label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  async function requeue(queue, taskIds) {
    const response = await fetch("/ui/api/queues/" + encodeURIComponent(queue) + "/requeue", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Jeex-UI": "1" },
      body: JSON.stringify({ task_ids: taskIds }),
    });
    const body = await response.json();
    $("notice").textContent = response.ok
      ? "requeued " + body.requeued + " task(s) of " + queue
      : "requeue failed: " + (body.detail || response.status);
    refresh();
  }

  function render(data) {
    const health = data.health || {};
    $("health").textContent = health.status || "unknown";
    $("health").className = "value " + (health.status === "healthy" ? "good" : "bad");
    $("circuit").textContent = (health.circuit && health.circuit.state) || "n/a";
    const memory = health.memory || {};
    $("memory").textContent = bytes(memory.used) + (memory.max ? " / " + bytes(memory.max) : "");
    const now = data.now;
    let total = 0;
    const rows = [];
    for (const [name, op] of Object.entries(data.operations)) {
      let rate = op.rate;
      if (previous && previous.operations[name] && now > previous.now) {
        rate = (op.count - previous.operations[name].count) / (now - previous.now);
      }
      total += rate;
      const tr = document.createElement("tr");
      tr.append(cell(name), cell(op.count, true), cell(op.errors, true),
        cell(rate.toFixed(2), true), cell(op.p50, true), cell(op.p95, true), cell(op.p99, true));
      rows.push(tr);
    }
    fill("operations", rows);
    $("rate").textContent = total.toFixed(2);
    $("no-queues").hidden = data.queues.length > 0;
    const queues = [], dead = [], running = [];
    for (const q of data.queues) {
      const tr = document.createElement("tr");
      tr.dataset.queue = q.queue;
      const actions = document.createElement("td");
      if (q.dead) actions.append(button("Requeue all", () => requeue(q.queue, null)));
      tr.append(cell(q.queue), cell(q.pending, true), cell(q.running, true),
        cell(q.dead, true), actions);
      queues.push(tr);
      for (const t of q.dead_tasks) {
        const row = document.createElement("tr");
        row.dataset.task = t.task_id;
        const act = document.createElement("td");
        act.append(button("Requeue", () => requeue(q.queue, [t.task_id])));
        row.append(cell(q.queue), cell(t.task_id), cell(t.name), cell(t.attempts, true),
          cell(t.error), act);
        dead.push(row);
      }
      for (const t of q.running_tasks) {
        const row = document.createElement("tr");
        row.dataset.task = t.task_id;
        const bar = document.createElement("td");
        const pct = t.progress ? Math.round(t.progress.percentage) : 0;
        bar.innerHTML = '<div class="track small" role="progressbar" aria-valuemin="0" ' +
          'aria-valuemax="100"><div class="fill"></div></div>';
        bar.firstChild.setAttribute("aria-valuenow", String(pct));
        bar.firstChild.firstChild.style.width = pct + "%";
        row.append(cell(q.queue), cell(t.task_id), bar,
          cell(t.progress ? pct + "% " + t.progress.message : "no progress reported"));
        running.push(row);
      }
    }
    fill("queues", queues);
    fill("dead", dead);
    fill("running", running);
    $("updated").textContent = "· " + new Date(now * 1000).toLocaleTimeString([], { hour12: false });
    previous = data;
  }

  async function refresh() {
    try {
      const response = await fetch("/ui/api/overview", { credentials: "same-origin" });
      if (response.status === 401) { location.href = "/ui/login"; return; }
      render(await response.json());
    } catch (error) {
      $("notice").textContent = "the service did not answer: " + error;
    }
  }

  refresh();
  setInterval(refresh, POLL_MS);
})();
