// Charts of the three-colour warning page: an officer's CUSUM path with its thresholds, or a
// unit's place on its peer group's funnel plot. Data come from the JSON <script> the element
// names; kept out of the template so the Content-Security-Policy can forbid inline scripts.
(function () {
  var RED = "#c8102e", ORANGE = "#e07b00", GREY = "#9aa5b5", BLUE = "#1f4e8c";

  function cusum(data) {
    return {
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0, max: function (v) { return Math.max(v.max, data.h) * 1.1; } },
      series: [
        {
          name: data.labels.s, type: "line", step: "end", symbol: "none", data: data.path,
          itemStyle: { color: BLUE },
          markLine: {
            symbol: "none", silent: true,
            data: [
              { yAxis: data.h, name: data.labels.red, lineStyle: { color: RED, type: "dashed" },
                label: { formatter: data.labels.red, position: "insideEndTop" } },
              { yAxis: data.orange, name: data.labels.orange, lineStyle: { color: ORANGE, type: "dashed" },
                label: { formatter: data.labels.orange, position: "insideEndTop" } },
            ],
          },
        },
      ],
    };
  }

  function funnel(data) {
    var l = data.labels;
    function limit(column) { return data.limits.map(function (r) { return [r[0], r[column]]; }); }
    var line = function (name, column, color, dashed) {
      return { name: name, type: "line", symbol: "none", smooth: true, data: limit(column),
        lineStyle: { color: color, type: dashed ? "dashed" : "solid", width: 1 }, itemStyle: { color: color } };
    };
    return {
      grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
      tooltip: { trigger: "item", formatter: function (p) {
        return p.seriesName + "<br>" + l.x + " " + p.value[0] + "，" + l.y + " " + (p.value[1] * 100).toFixed(1) + "%";
      } },
      legend: { top: 0 },
      xAxis: { type: "value", name: l.x, nameLocation: "middle", nameGap: 24, scale: true },
      yAxis: { type: "value", name: l.y, scale: true, axisLabel: { formatter: function (v) { return (v * 100).toFixed(0) + "%"; } } },
      series: [
        { name: l.peers, type: "scatter", data: data.peers, itemStyle: { color: GREY } },
        { name: l.this, type: "scatter", symbolSize: 14, data: [data.this], itemStyle: { color: RED }, z: 5 },
        line(l.l95, 1, ORANGE, true), line(l.l95, 2, ORANGE, true),
        line(l.l998, 3, RED, true), line(l.l998, 4, RED, true),
        { name: l.target, type: "line", symbol: "none", silent: true,
          data: [[data.limits[0][0], data.target], [data.limits[data.limits.length - 1][0], data.target]],
          lineStyle: { color: BLUE, width: 1 }, itemStyle: { color: BLUE } },
      ],
    };
  }

  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(data.type === "cusum" ? cusum(data) : funnel(data));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-ew-chart]").forEach(draw);
  });
})();
