// Dashboards (数据看板): draws every [data-chart] element from the JSON in the
// <script type="application/json" id="..."> its data-source names (Django's json_script).
// Kept out of the templates so the Content-Security-Policy can forbid inline scripts.
// Suppressed cells (about fewer than 5 people) arrive as null and are drawn as gaps.
(function () {
  "use strict";
  var BRAND = "#1f4e8c";
  var ACCENT = "#c8102e";
  var PALETTE = ["#1f4e8c", "#c8102e", "#e08a00", "#2e8b57", "#6a4c93", "#5c6b7a"];

  function trend(chart, d) {
    chart.setOption({
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [d.labels.rate, d.labels.replies] },
      xAxis: { type: "category", data: d.x, boundaryGap: false },
      yAxis: [
        { type: "value", name: "%", scale: true, max: 100 },
        { type: "value", name: d.labels.replies, splitLine: { show: false } },
      ],
      series: [
        // The Wilson band: an invisible base at the lower bound, the width stacked on top.
        { name: "low", type: "line", data: d.low, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, tooltip: { show: false }, connectNulls: false },
        { name: d.labels.band, type: "line", data: d.band, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, areaStyle: { color: BRAND, opacity: 0.15 },
          tooltip: { show: false }, connectNulls: false },
        { name: d.labels.rate, type: "line", data: d.rate, itemStyle: { color: BRAND },
          connectNulls: false },
        { name: d.labels.replies, type: "bar", yAxisIndex: 1, data: d.replies,
          itemStyle: { color: "#c9d6ea" }, z: 0 },
      ],
    });
  }

  function funnel(chart, d) {
    var limit = function (i) {
      return d.limits.map(function (row) { return [row[0], row[i]]; });
    };
    var line = function (name, data, color, dashed) {
      return { name: name, type: "line", data: data, symbol: "none", smooth: true,
        lineStyle: { color: color, type: dashed ? "dashed" : "solid", width: 1 },
        itemStyle: { color: color }, tooltip: { show: false } };
    };
    chart.setOption({
      grid: { left: 8, right: 16, top: 36, bottom: 24, containLabel: true },
      legend: { top: 0, data: [d.labels.units, d.labels.alert, d.labels.alarm] },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          return p.data && p.data[2] ? p.data[2] + "<br>" + d.labels.x + " " + p.data[0] +
            "，" + p.data[1] + "%" : "";
        },
      },
      xAxis: { type: "value", name: d.labels.x, nameLocation: "middle", nameGap: 24, scale: true },
      yAxis: { type: "value", name: d.labels.y, scale: true, max: 100 },
      series: [
        { name: d.labels.units, type: "scatter", data: d.points, itemStyle: { color: BRAND },
          markLine: { silent: true, symbol: "none", data: [{ yAxis: d.target }],
            lineStyle: { color: "#888" }, label: { formatter: d.labels.target } } },
        line(d.labels.alert, limit(1), "#e08a00", true),
        line(d.labels.alert, limit(2), "#e08a00", true),
        line(d.labels.alarm, limit(3), ACCENT, false),
        line(d.labels.alarm, limit(4), ACCENT, false),
      ],
    });
  }

  function reasons(chart, d) {
    chart.setOption({
      color: PALETTE,
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: d.weeks },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s) {
        return { name: s.name, type: "line", data: s.values, connectNulls: false };
      }),
    });
  }

  var DRAW = { trend: trend, funnel: funnel, reasons: reasons };

  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    var fn = DRAW[el.dataset.chart];
    if (!source || !fn || !window.echarts) return;
    var chart = echarts.init(el, null, { renderer: "svg" });
    fn(chart, JSON.parse(source.textContent));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
