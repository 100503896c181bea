// The dashboard's charts, drawn with Plotly from the aggregates the server computed (the
// JSON block #dashboard-data). Names are escaped for Plotly; nothing is set with innerHTML.
(function () {
  "use strict";
  // Choosing a range reloads the page with it in the URL (a link to share).
  var range = document.getElementById("range");
  if (range && range.form) {
    range.addEventListener("change", function () { range.form.submit(); });
  }
  var element = document.getElementById("dashboard-data");
  if (!element || !window.Plotly) { return; }
  var stats = JSON.parse(element.textContent);

  function plain(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function column(points, key) { return points.map(function (p) { return p[key]; }); }
  function line(points, key, name) {
    return { type: "scatter", mode: points.length > 1 ? "lines+markers" : "markers",
             name: plain(name), x: column(points, "time"), y: column(points, key) };
  }
  function byGroup(groups, key) {
    return Object.keys(groups).map(function (name) { return line(groups[name], key, name); });
  }
  function draw(id, traces) {
    var target = document.getElementById("dash-" + id);
    if (!target) { return; }
    window.Plotly.newPlot(target, traces, {
      margin: { l: 50, r: 10, t: 10, b: 40 }, height: 280, showlegend: true,
      legend: { orientation: "h", y: -0.25 }, xaxis: { type: "date" }
    }, { responsive: true, displaylogo: false });
    target.setAttribute("data-drawn", "true");
  }
  var s = stats.series;
  draw("calls", [line(s, "calls", "calls"), line(s, "errors", "errors")]);
  draw("latency", [line(s, "latency_p50_ms", "p50"), line(s, "latency_p95_ms", "p95"),
                   line(s, "latency_p99_ms", "p99")]);
  draw("tokens", byGroup(stats.series_by_model, "total_tokens"));
  draw("cost", byGroup(stats.series_by_model, "cost_usd"));
  draw("kinds", byGroup(stats.series_by_kind, "calls"));
  var names = {};
  stats.scores.forEach(function (p) { (names[p.name] = names[p.name] || []).push(p); });
  draw("scores", byGroup(names, "average"));
}());
