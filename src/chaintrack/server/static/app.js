// chaintrack's web UI: charts, the debug sample slider, compare and selection helpers.
// Plain JavaScript, no build step. Untrusted text is only ever set with textContent or
// setAttribute, never innerHTML; page data comes from <script type="application/json">.
(function () {
  "use strict";

  function jsonData(element) {
    return element ? JSON.parse(element.textContent) : null;
  }

  // Plotly renders a few HTML-like tags in titles and names; escaping "<", ">" and "&" makes
  // every name plain text (Plotly shows the entities as the characters).
  function plain(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function drawCharts() {
    var charts = jsonData(document.getElementById("chart-data"));
    if (!charts || !window.Plotly) { return; }
    charts.forEach(function (chart, index) {
      var target = document.getElementById("chart-" + index);
      if (!target) { return; }
      var traces = chart.traces.map(function (t) {
        return { type: "scatter", mode: t.x.length > 1 ? "lines" : "markers", name: plain(t.name),
                 x: t.x, y: t.y, hovertemplate: "%{x}: %{y}<extra>" + plain(t.name) + "</extra>" };
      });
      window.Plotly.newPlot(target, traces, {
        margin: { l: 50, r: 10, t: 10, b: 40 }, height: 320, showlegend: true,
        legend: { orientation: "h", y: -0.25 }, xaxis: { title: { text: "iteration" } }
      }, { responsive: true, displaylogo: false });
      target.setAttribute("data-drawn", "true");
    });
  }

  function showSample(viewer, sample) {
    while (viewer.firstChild) { viewer.removeChild(viewer.firstChild); }
    var element;
    var mime = sample.mime || "";
    if (sample.src && mime.indexOf("image/") === 0) {
      element = document.createElement("img");
      element.setAttribute("alt", sample.filename);
      element.className = "sample";
    } else if (sample.src && mime.indexOf("audio/") === 0) {
      element = document.createElement("audio");
      element.controls = true;
    } else if (sample.src && mime.indexOf("video/") === 0) {
      element = document.createElement("video");
      element.controls = true;
    } else if (sample.src) {
      element = document.createElement("iframe");
      element.setAttribute("sandbox", "");
      element.setAttribute("referrerpolicy", "no-referrer");
      element.setAttribute("title", sample.filename);
      element.className = "sample";
    } else {
      element = document.createElement(sample.link ? "a" : "span");
      if (sample.link) {
        element.setAttribute("href", sample.link);
        element.setAttribute("rel", "noopener noreferrer nofollow");
        element.setAttribute("target", "_blank");
      }
      element.textContent = sample.url;
    }
    if (sample.src) { element.setAttribute("src", sample.src); }
    viewer.appendChild(element);
  }

  function wireSamples() {
    document.querySelectorAll("section.samples").forEach(function (section) {
      var samples = jsonData(section.querySelector("script.samples-data"));
      var slider = section.querySelector("input.iteration-slider");
      var label = section.querySelector("output.iteration-label");
      var viewer = section.querySelector(".viewer");
      if (!samples || !slider) { return; }
      slider.addEventListener("input", function () {
        var sample = samples[Number(slider.value)];
        label.textContent = String(sample.iteration);
        showSample(viewer, sample);
      });
    });
  }

  function wireCompare() {
    var box = document.getElementById("hide-identical");
    var table = document.getElementById("compare-params");
    if (box && table) {
      var apply = function () { table.classList.toggle("hide-identical", box.checked); };
      box.addEventListener("change", apply);
      apply();  // the box may have been ticked while the page was still loading
    }
    var form = document.getElementById("compare-form");
    var button = document.getElementById("compare-button");
    if (form && button) {
      var update = function () {
        button.disabled = form.querySelectorAll("input.pick:checked").length < 2;
      };
      form.addEventListener("change", update);
      update();
    }
  }

  drawCharts();
  wireSamples();
  wireCompare();
}());
