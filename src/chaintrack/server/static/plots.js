// The Plots tab (a figure per series, an iteration slider per title) and the plots of Compare.
// Plain JavaScript, no build step. Figures are reported data: every string in them is escaped
// before Plotly sees it (Plotly renders a few HTML-like tags), except the line break and
// superscript ClearML's figures use for comments; nothing is set with innerHTML.
(function () {
  "use strict";

  function jsonData(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function plain(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/&lt;br&gt;/g, "<br>").replace(/&lt;(\/?)sup&gt;/g, "<$1sup>");
  }

  function clean(value, key) {
    if (typeof value === "string") { return key === "source" ? value : plain(value); }
    if (Array.isArray(value)) { return value.map(function (v) { return clean(v, key); }); }
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (k) { out[k] = clean(value[k], k); });
      return out;
    }
    return value;
  }

  function draw(target, figure) {
    var layout = clean(figure.layout || {}, "layout");
    layout.autosize = true;
    if (!layout.height) { layout.height = 360; }
    window.Plotly.react(target, clean(figure.data || [], "data"), layout,
                        { responsive: true, displaylogo: false });
    target.setAttribute("data-drawn", "true");
  }

  // The report of a series shown at an iteration: its last report at or before it.
  function reportAt(reports, iteration) {
    var chosen = null;
    reports.forEach(function (r) { if (r.iter <= iteration) { chosen = r; } });
    return chosen || reports[0];
  }

  function drawGroup(group, index, iteration) {
    group.series.forEach(function (series, s) {
      var target = document.getElementById("plot-" + index + "-" + s);
      var report = reportAt(series.reports, iteration);
      if (target && report) {
        target.setAttribute("data-iteration", String(report.iter));
        draw(target, report.figure);
      }
    });
  }

  function wirePlots() {
    var groups = jsonData("plot-data");
    if (!groups || !window.Plotly) { return; }
    groups.forEach(function (group, index) {
      var section = document.querySelector('section.plot-group[data-group="' + index + '"]');
      var last = group.iterations[group.iterations.length - 1];
      drawGroup(group, index, last === undefined ? 0 : last);
      var slider = section && section.querySelector("input.plot-slider");
      if (!slider) { return; }
      var label = section.querySelector("output.plot-iteration");
      slider.addEventListener("input", function () {
        var iteration = group.iterations[Number(slider.value)];
        label.textContent = String(iteration);
        drawGroup(group, index, iteration);
      });
    });
  }

  function wireComparePlots() {
    var plots = jsonData("compare-plot-data");
    if (!plots || !window.Plotly) { return; }
    plots.forEach(function (plot, index) {
      var target = document.getElementById("compare-plot-" + index);
      if (target) { draw(target, plot.figure); }
    });
  }

  wirePlots();
  wireComparePlots();
}());
