/* The ledger's own script (Content-Security-Policy: script-src 'self'): draws each chart of a page with
   ECharts from the JSON the page carries beside it, and wires the print button. No data is fetched. */
(function () {
  "use strict";
  var palette = ["#1f5fb8", "#c0392b", "#2e8b57", "#d4880f", "#6a4c93", "#17a2b8", "#8d6e63", "#e84393"];

  function option(spec) {
    var axes = [{ type: "value", name: spec.y || "", scale: !!spec.scale }];
    if (spec.y2) { axes.push({ type: "value", name: spec.y2, scale: !!spec.scale, splitLine: { show: false } }); }
    var horizontal = spec.type === "hbar";
    var category = { type: "category", data: spec.x, axisLabel: { interval: 0, rotate: horizontal ? 0 : (spec.x.length > 12 ? 40 : 0) } };
    return {
      color: palette,
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: horizontal ? 180 : 60, right: spec.y2 ? 60 : 30, top: 40, bottom: 60, containLabel: false },
      xAxis: horizontal ? axes[0] : category,
      yAxis: horizontal ? Object.assign(category, { inverse: true }) : axes,
      series: spec.series.map(function (s) {
        return {
          name: s.name, type: horizontal ? "bar" : (s.type || spec.type), data: s.data,
          yAxisIndex: horizontal ? undefined : (s.axis || 0), connectNulls: true, symbolSize: 6,
          label: horizontal ? { show: true, position: "right" } : undefined
        };
      })
    };
  }

  function draw() {
    if (typeof echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll("div.chart[data-spec]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-spec"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      if (spec.type === "hbar") { el.style.height = Math.max(240, 28 * spec.x.length + 80) + "px"; }
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option(spec));
      el.setAttribute("data-drawn", "1");
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  function wire() {
    document.querySelectorAll("button[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    draw();
    document.documentElement.setAttribute("data-ready", "1");
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
})();
