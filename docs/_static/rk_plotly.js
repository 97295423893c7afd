// Draw every plotly figure stored on the page (docs/nbproc.py: plotly_html) with the site's own plotly.js.
// A figure laid out wider than its column (a fixed `width` from the notebook) is drawn at the column's width
// instead, and follows it when the window is resized: nothing is clipped, no panel or legend goes missing.
(function () {
  function draw() {
    document.querySelectorAll("script.rk-plotly-data").forEach(function (s) {
      var div = document.getElementById(s.dataset.for);
      if (!div || div.dataset.drawn) return;
      var fig = JSON.parse(s.textContent);
      var layout = Object.assign({}, fig.layout || {});
      var column = div.clientWidth || (div.parentElement && div.parentElement.clientWidth) || 0;
      if (layout.width && column && layout.width > column) { delete layout.width; layout.autosize = true; }
      var config = Object.assign({responsive: true, displaylogo: false}, fig.config || {});
      div.dataset.drawn = "1";
      Plotly.newPlot(div, fig.data || [], layout, config);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
