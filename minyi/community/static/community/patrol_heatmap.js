// The patrol page's segment × hour heatmap (巡逻热力图), from the JSON its
// <script id="chart-patrol-heatmap"> holds: passes per key segment and hour over the chosen
// days, key hours outlined. Kept out of the template so the CSP can forbid inline scripts.
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var key = {};
    data.key.forEach(function (k) { key[k[0] + "," + k[1]] = true; });
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      grid: { left: 8, right: 16, top: 8, bottom: 56, containLabel: true },
      tooltip: { position: "top" },
      xAxis: { type: "category", data: data.hours, splitArea: { show: true } },
      yAxis: { type: "category", data: data.segments, inverse: true,
        axisLabel: { width: 140, overflow: "truncate" } },
      visualMap: { min: 0, max: Math.max(data.max, 1), calculable: true, orient: "horizontal",
        left: "center", bottom: 0, inRange: { color: ["#f5f5f5", "#b7d2ff", "#1677ff"] } },
      series: [{
        type: "heatmap",
        data: data.cells.map(function (c) {
          return { value: c, itemStyle: key[c[0] + "," + c[1]]
            ? { borderColor: "#d4380d", borderWidth: 1 } : {} };
        }),
        label: { show: true, formatter: function (p) { return p.value[2] || ""; } },
      }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart='patrol-heatmap']").forEach(draw);
  });
})();
