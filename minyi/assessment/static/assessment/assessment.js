// The assessment page's charts (年度综合考评): the caterpillar plot of rank intervals and the
// funnel plot of pooled satisfaction. Each [data-assessment-chart] element is drawn from the
// JSON <script> its data-source names (Django's json_script); kept out of the template so the
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var BLUE = "#1677ff", RED = "#d4380d", ORANGE = "#d46b08", GREY = "#8c8c8c";

  // Rank intervals, best at the top: an invisible bar up to the interval's start, the
  // interval as a thin bar stacked on it, and the median rank as a point.
  function caterpillar(d) {
    var units = d.units.slice().reverse();
    var names = units.map(function (u) { return u.name; });
    var colour = function (u) { return u.marked ? RED : BLUE; };
    return {
      grid: { left: 8, right: 24, top: 28, bottom: 24, containLabel: true },
      legend: { top: 0, data: [d.labels.interval, d.labels.median] },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var u = units[items[0].dataIndex];
          return u.name + "<br>" + d.labels.median + " " + u.median.toFixed(1) + "<br>" +
            d.labels.interval + " " + u.low + "–" + u.high + (u.marked ? "<br>" + d.labels.marked : "");
        },
      },
      xAxis: { type: "value", name: d.labels.x, nameLocation: "middle", nameGap: 24,
        min: 1, max: Math.max(d.size, 2), minInterval: 1, inverse: false },
      yAxis: { type: "category", data: names, axisLabel: { hideOverlap: true } },
      series: [
        { name: "base", type: "bar", stack: "rank", silent: true, barWidth: 6,
          itemStyle: { color: "transparent" }, data: units.map(function (u) { return u.low - 1; }),
          tooltip: { show: false } },
        { name: d.labels.interval, type: "bar", stack: "rank", barWidth: 6,
          data: units.map(function (u) {
            return { value: Math.max(u.high - u.low, 0.15), itemStyle: { color: colour(u), opacity: 0.45 } };
          }) },
        { name: d.labels.median, type: "scatter", symbolSize: 9,
          data: units.map(function (u, i) {
            return { value: [u.median, i], itemStyle: { color: colour(u) } };
          }) },
      ],
    };
  }

  // Rate against n_eff with the 95% and 99.8% limits (rows: [n, lo95, hi95, lo998, hi998]).
  function funnel(d) {
    var limit = function (i) { return d.limits.map(function (row) { return [row[0], row[i]]; }); };
    var line = function (name, data, color, dashed) {
      return { name: name, type: "line", data: data, symbol: "none", smooth: true,
        lineStyle: { color: color, type: dashed ? "dashed" : "solid", width: 1 },
        itemStyle: { color: color }, tooltip: { show: false } };
    };
    var ys = d.points.map(function (p) { return p[1]; });
    d.limits.forEach(function (row) { ys.push(row[1], row[3]); });
    var low = Math.max(0, Math.floor(Math.min.apply(null, ys) / 5) * 5 - 5);
    return {
      grid: { left: 8, right: 48, top: 36, bottom: 28, containLabel: true },
      legend: { top: 0, data: [d.labels.units, d.labels.alert, d.labels.alarm] },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          return p.data && p.data[2] ? p.data[2] + "<br>" + d.labels.x + " " + p.data[0] +
            "，" + p.data[1] + "%" : "";
        },
      },
      xAxis: { type: "value", name: d.labels.x, nameLocation: "middle", nameGap: 24, scale: true },
      yAxis: { type: "value", name: d.labels.y, min: low, max: 100,
        axisLabel: { formatter: "{value}%" } },
      series: [
        { name: d.labels.units, type: "scatter", data: d.points, itemStyle: { color: BLUE },
          markLine: { silent: true, symbol: "none", data: [{ yAxis: d.target }],
            lineStyle: { color: GREY }, label: { formatter: d.labels.target } } },
        line(d.labels.alert, limit(1), ORANGE, true),
        line(d.labels.alert, limit(2), ORANGE, true),
        line(d.labels.alarm, limit(3), RED, false),
        line(d.labels.alarm, limit(4), RED, false),
      ],
    };
  }

  var DRAW = { caterpillar: caterpillar, funnel: funnel };

  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    var fn = DRAW[el.dataset.assessmentChart];
    if (!source || !fn || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    if (el.dataset.assessmentChart === "caterpillar") {
      el.style.height = Math.max(240, 28 * data.units.length + 80) + "px";
    }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(fn(data));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-assessment-chart]").forEach(draw);
  });
})();
