// Draws every [data-chart] element from the JSON in the <script id="data-source"> it names.
// Kept out of the templates so the Content-Security-Policy can forbid inline scripts.
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "svg" });
    if (el.dataset.chart === "bar") {
      chart.setOption({
        grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: data.labels, inverse: true },
        series: [{ type: "bar", data: data.values, itemStyle: { color: "#1f4e8c" } }],
      });
    }
    if (el.dataset.chart === "trend") {
      chart.setOption({
        grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        xAxis: { type: "category", data: data.days },
        yAxis: [{ type: "value", name: data.labels.replies }, { type: "value", name: "%", min: 80, max: 100 }],
        series: [
          { name: data.labels.replies, type: "bar", data: data.replies, itemStyle: { color: "#9db4d6" } },
          { name: data.labels.rate, type: "line", yAxisIndex: 1, data: data.rate, connectNulls: true,
            itemStyle: { color: "#c8102e" } },
        ],
      });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
