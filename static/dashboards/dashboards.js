// Dashboards (数据看板): draws every [data-chart] element from the JSON in the
// <script type="application/json" id="..."> its data-source names (Django's json_script).
// Kept out of the templates so the Content-Security-Policy can forbid inline scripts.
// Suppressed cells (about fewer than 5 people) arrive as null and are drawn as gaps.
(function () {
  "use strict";
  var BRAND = "#1677ff";
  var ACCENT = "#d4380d";
  var ORANGE = "#d46b08";
  var PALETTE = ["#1677ff", "#d4380d", "#d46b08", "#389e0d", "#722ed1", "#5c6b7a"];

  // A rate axis that never lies: it starts at 0 and stops at 100%. When every value sits
  // high (satisfaction is usually above 80%), the empty stretch is cut out with a visible
  // zigzag break instead of silently starting the axis at 80.
  function rateAxis(values, extra) {
    var finite = values.filter(function (v) { return v !== null && v !== undefined && isFinite(v); });
    var axis = { type: "value", min: 0, max: 100, name: "%", axisLabel: { formatter: "{value}%" } };
    Object.keys(extra || {}).forEach(function (k) { axis[k] = extra[k]; });
    if (!finite.length) return axis;
    var low = Math.min.apply(null, finite);
    var cut = Math.floor((low - 5) / 10) * 10;
    if (cut >= 30) {
      axis.breaks = [{ start: 0, end: cut, gap: "6%" }];
      axis.breakArea = { show: true, itemStyle: { color: "#fafafa", borderColor: "#bfbfbf" } };
    }
    return axis;
  }

  function trend(chart, d) {
    // Two panels: the rate with its 95% band on top, the number of replies below, so the
    // interval is a band around its own line and never a shape behind bars.
    var rates = d.rate.concat(d.low.filter(function (v) { return v !== null; }));
    chart.setOption({
      grid: [
        { left: 8, right: 16, top: 36, height: "52%", containLabel: true },
        { left: 8, right: 16, bottom: 8, height: "22%", containLabel: true },
      ],
      tooltip: { trigger: "axis" },
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      legend: { top: 0, data: [d.labels.rate, d.labels.band, d.labels.replies] },
      xAxis: [
        { type: "category", data: d.x, boundaryGap: false, gridIndex: 0, axisLabel: { show: false } },
        { type: "category", data: d.x, boundaryGap: false, gridIndex: 1, axisLabel: { hideOverlap: true } },
      ],
      yAxis: [
        rateAxis(rates, { gridIndex: 0 }),
        { type: "value", name: d.labels.replies, gridIndex: 1, minInterval: 1, splitNumber: 2 },
      ],
      series: [
        // The Wilson band: an invisible base at the lower bound, the width stacked on top.
        { name: "low", type: "line", data: d.low, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, tooltip: { show: false }, connectNulls: false },
        { name: d.labels.band, type: "line", data: d.band, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, areaStyle: { color: BRAND, opacity: 0.15 },
          itemStyle: { color: "#bad3ff" }, tooltip: { show: false }, connectNulls: false },
        { name: d.labels.rate, type: "line", data: d.rate, itemStyle: { color: BRAND },
          connectNulls: false },
        { name: d.labels.replies, type: "bar", xAxisIndex: 1, yAxisIndex: 1, data: d.replies,
          itemStyle: { color: "#9fbff5" } },
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
    var ys = d.points.map(function (p) { return p[1]; });
    d.limits.forEach(function (row) { ys.push(row[1], row[3]); });
    chart.setOption({
      // Room on the right for the average line's label, which sits outside the plot.
      grid: { left: 8, right: 48, top: 36, bottom: 24, containLabel: true },
      legend: { top: 0, data: [d.labels.units, d.labels.alert, d.labels.alarm] },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          return p.data && p.data[2] ? p.data[2] + "<br>" + d.labels.x + " " + p.data[0] +
            "，" + p.data[1] + "%" : "";
        },
      },
      xAxis: { type: "value", name: d.labels.x, nameLocation: "middle", nameGap: 24, scale: true,
        minInterval: 1 },
      yAxis: rateAxis(ys.map(function (v) { return Math.max(0, Math.min(100, v)); }),
        { name: d.labels.y }),
      series: [
        { name: d.labels.units, type: "scatter", data: d.points, itemStyle: { color: BRAND },
          markLine: { silent: true, symbol: "none", data: [{ yAxis: d.target }],
            lineStyle: { color: "#888" }, label: { formatter: d.labels.target } } },
        line(d.labels.alert, limit(1), ORANGE, true),
        line(d.labels.alert, limit(2), ORANGE, true),
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
      xAxis: { type: "category", data: d.weeks, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1, min: 0 },
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
    // A chart inside a closed 计算方法 fold has no size until the fold opens.
    var fold = el.closest("details");
    if (fold) fold.addEventListener("toggle", function () { if (fold.open) chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
