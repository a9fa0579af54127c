// The live progress page: the state, then every event of /progress/{id}/events.
// EventSource sends the session cookie, and after a reconnect Last-Event-ID, so the
// server resumes after the last event seen: nothing is missed, nothing repeated.
"use strict";
(() => {
  const parts = location.pathname.split("/");
  const id = decodeURIComponent(parts[2] || "");
  const base = "/progress/" + encodeURIComponent(id);
  const $ = (name) => document.getElementById(name);
  const seen = new Set();
  let finished = false;
  let received = 0; // events the stream delivered, repeats included (a resume repeats none)

  function clock(iso) {
    const when = iso ? new Date(iso) : new Date();
    return when.toLocaleTimeString([], { hour12: false });
  }

  function show(state) {
    const pct = Math.max(0, Math.min(100, Math.round(state.percentage)));
    $("fill").style.width = pct + "%";
    $("bar").setAttribute("aria-valuenow", String(pct));
    $("percent").textContent = pct + "%";
    $("status").textContent = state.status;
    $("status").className = "state " + state.status;
    $("view").className = state.status;
    $("steps").textContent = "step " + state.current_step + " of " + state.total_steps;
    const repeated = state.error && state.message === state.error; // shown below, once
    $("message").textContent = repeated ? "" : state.message || "";
    if (state.error) {
      $("error").textContent = state.error;
      $("error").hidden = false;
    }
    if (state.status !== "running") {
      finished = true;
      $("connection").textContent = "";
    }
  }

  function log(event) {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = event.timestamp;
    time.textContent = clock(event.timestamp);
    item.append(time, event.kind + " · " + event.current_step + "/" + event.total_steps);
    const text = event.error || event.message;
    if (text) item.append(" · " + text);
    item.dataset.kind = event.kind;
    $("log").append(item);
  }

  function follow() {
    const source = new EventSource(base + "/events");
    const handle = (message) => {
      const event = JSON.parse(message.data);
      received += 1;
      document.body.dataset.received = String(received);
      log(event);
      show(event);
      if (event.kind === "completed" || event.kind === "failed") source.close();
    };
    for (const kind of ["started", "progress", "completed", "failed"]) {
      source.addEventListener(kind, handle);
    }
    source.addEventListener("closed", (message) => {  // access ended: revoked or expired
      finished = true;
      source.close();
      $("connection").textContent = "closed";
      $("message").textContent = "Access ended (" + JSON.parse(message.data).reason + ").";
    });
    source.onopen = () => { if (!finished) $("connection").textContent = "live"; };
    source.onerror = () => {
      if (!finished) $("connection").textContent = "reconnecting…";
    };
  }

  $("operation").textContent = id;
  fetch(base, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => response.ok ? response.json() : Promise.reject(response.status))
    .then((state) => { show(state); follow(); })
    .catch((status) => {
      $("status").textContent = "unavailable";
      $("message").textContent = "This operation cannot be shown (" + status + ").";
    });
})();
