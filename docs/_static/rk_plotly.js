// Draw every plotly figure stored on the page (docs/nbproc.py: plotly_html) with the site's own plotly.js.
(function () {
  function draw() {
    document.querySelectorAll("script.rk-plotly-data").forEach(function (s) {
      var div = document.getElementById(s.dataset.for);
      if (!div || div.dataset.drawn) return;
      var fig = JSON.parse(s.textContent);
      var config = Object.assign({responsive: true, displaylogo: false}, fig.config || {});
      div.dataset.drawn = "1";
      Plotly.newPlot(div, fig.data || [], fig.layout || {}, config);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
