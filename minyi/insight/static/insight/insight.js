// Insight charts: the reasons in every citizen text, as stacked bars (primary, secondary).
(function () {
  "use strict";
  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    el.style.height = Math.max(160, data.labels.length * 32 + 60) + "px";
    var chart = window.echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: data.names },
      grid: { left: 90, right: 24, top: 32, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.labels, inverse: true },
      series: [
        { name: data.names[0], type: "bar", stack: "n", data: data.primary },
        { name: data.names[1], type: "bar", stack: "n", data: data.secondary },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-insight-chart]").forEach(draw);
  });
})();
