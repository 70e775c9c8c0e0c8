// The dashboard: live orders over WebSocket (resuming from its cursor), analytics polled from the API.
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
let cursor = null;
let token = null;
const arrivals = [];

function connect() {
  const url = new URL("/api/alerts/stream", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (cursor) url.searchParams.set("since", cursor);
  const ws = new WebSocket(url);
  ws.onopen = () => { $("conn").textContent = "live"; $("conn").className = "status up"; };
  ws.onclose = () => { $("conn").textContent = "disconnected — reconnecting"; $("conn").className = "status"; setTimeout(connect, 1000); };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") { cursor = cursor ?? m.cursor; return; }
    if (m.type !== "alert") return;
    cursor = m.cursor;
    arrivals.push(Date.now());
    const a = m.alert;
    const tr = document.createElement("tr");
    tr.className = "new";
    tr.dataset.alertId = a.alertId;
    tr.innerHTML = `<td>${new Date(a.raisedAt).toLocaleTimeString()}</td><td>${esc(a.studentId)}</td><td>${esc(a.exerciseId)}</td><td>${a.score} / ${a.threshold}</td><td>${esc(a.region)}</td>`;
    $("feed").prepend(tr);
    while ($("feed").children.length > 200) $("feed").lastChild.remove();
  };
}

async function get(path) {
  const r = await fetch(path);
  return r.ok ? r.json() : null;
}

async function refresh() {
  const now = Date.now();
  while (arrivals.length && arrivals[0] < now - 60000) arrivals.shift();
  $("rate").textContent = `${arrivals.length} in the last minute`;
  const [ex, rg, th, runs] = await Promise.all([get("/api/analytics/exercises"), get("/api/analytics/regions"), get("/api/thresholds"), get("/api/analytics/runs?limit=10")]);
  if (ex) {
    $("asof").textContent = ex.asOf ? `as of ${new Date(ex.asOf).toLocaleTimeString()}` : "no analyzer run yet";
    $("exercises").innerHTML = ex.exercises.map((e) => `<tr><td>${esc(e.exerciseId)}</td><td>${e.reports}</td><td>${e.averageScore.toFixed(1)}</td><td>${e.failures}</td><td>${e.threshold}</td></tr>`).join("");
  }
  if (rg) $("regions").innerHTML = rg.regions.map((r) => `<tr><td>${esc(r.region)}</td><td>${r.reports}</td><td>${r.averageScore.toFixed(1)}</td><td>${r.failures}</td></tr>`).join("");
  if (th) {
    $("th-default").textContent = `${th.default} %`;
    $("th-rev").textContent = th.revision;
    $("thresholds").innerHTML = Object.entries(th.thresholds).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v} %</td></tr>`).join("");
  }
  if (runs) $("runs").innerHTML = runs.runs.map((r) => `<tr><td>${new Date(r.startedAt).toLocaleTimeString()}</td><td>${esc(r.engine)}</td><td>${r.files}</td><td>${r.rows}</td><td>${r.durationMs ?? ""}</td><td>${esc(r.outcome)}</td></tr>`).join("");
}

$("th-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  token = token ?? prompt("Operator token");
  if (!token) return;
  const r = await fetch(`/api/thresholds/${encodeURIComponent($("th-ex").value)}`, {
    method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ threshold: Number($("th-val").value) }),
  });
  const body = await r.json();
  if (r.status === 401) token = null;
  $("th-msg").textContent = r.ok ? "" : body.error;
  refresh();
});

connect();
refresh();
setInterval(refresh, 5000);
