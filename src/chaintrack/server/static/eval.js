// chaintrack's experiment comparison: per-score bar charts (plotly.js from the plotly package)
// and applying the compare controls on change. Untrusted text only through textContent,
// setAttribute or Plotly names escaped by plain(); data from <script type="application/json">.
(function () {
  "use strict";

  function plain(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function drawScoreCharts() {
    var element = document.getElementById("eval-chart-data");
    if (!element || !window.Plotly) { return; }
    var charts = JSON.parse(element.textContent);
    charts.forEach(function (chart, index) {
      var target = document.getElementById("eval-chart-" + index);
      if (!target) { return; }
      var labels = chart.labels.map(plain);
      var trace = { type: "bar", x: labels, y: chart.values,
                    hovertemplate: "%{x}: %{y:.4g}<extra>" + plain(chart.title) + "</extra>" };
      window.Plotly.newPlot(target, [trace], {
        margin: { l: 50, r: 10, t: 10, b: 60 }, height: 240, showlegend: false
      }, { responsive: true, displaylogo: false });
      target.setAttribute("data-drawn", "true");
    });
  }

  function autoApply() {
    var form = document.getElementById("compare-controls");
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  }

  drawScoreCharts();
  autoApply();
}());
