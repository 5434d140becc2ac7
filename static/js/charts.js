// Draws every [data-chart] element from the JSON in the <script id="data-source"> it names.
// Kept out of the templates so the Content-Security-Policy can forbid inline scripts.
// Honest by default: a rate's axis runs 0–100%, whole counts get whole ticks, labels are
// never cut (containLabel), and a day without replies is a gap, not an invented line.
(function () {
  var BLUE = "#1677ff", LIGHT = "#b7d2ff", RED = "#d4380d";

  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "svg" });
    if (el.dataset.chart === "bar") {
      chart.setOption({
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: data.labels, inverse: true,
          axisLabel: { width: 120, overflow: "truncate" } },
        series: [{ type: "bar", data: data.values, itemStyle: { color: BLUE }, barMaxWidth: 18 }],
      });
    }
    if (el.dataset.chart === "trend") {
      chart.setOption({
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        xAxis: { type: "category", data: data.days, axisLabel: { hideOverlap: true } },
        yAxis: [
          { type: "value", name: data.labels.replies, minInterval: 1 },
          { type: "value", name: "%", min: 0, max: 100, splitLine: { show: false } },
        ],
        series: [
          { name: data.labels.replies, type: "bar", data: data.replies, itemStyle: { color: LIGHT } },
          { name: data.labels.rate, type: "line", yAxisIndex: 1, data: data.rate, connectNulls: false,
            itemStyle: { color: RED } },
        ],
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
