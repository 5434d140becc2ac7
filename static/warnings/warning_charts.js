// Charts of the three-colour warning page: an officer's CUSUM path with its thresholds, or a
// unit's place on its peer group's funnel plot. Data come from the JSON <script> the element
// names; kept out of the template so the Content-Security-Policy can forbid inline scripts.
(function () {
  var RED = "#d4380d", ORANGE = "#d46b08", GREY = "#9aa5b5", BLUE = "#1677ff";

  // Rates here are fractions. Their axis runs from 0 to 100% and, when every value sits high,
  // shows a zigzag break over the empty stretch instead of silently starting at, say, 80%.
  function rateAxis(values, extra) {
    var finite = values.filter(function (v) { return v !== null && v !== undefined && isFinite(v); });
    var axis = { type: "value", min: 0, max: 1,
      axisLabel: { formatter: function (v) { return (v * 100).toFixed(0) + "%"; } } };
    Object.keys(extra).forEach(function (k) { axis[k] = extra[k]; });
    if (!finite.length) return axis;
    var low = Math.max(0, Math.min.apply(null, finite));
    var cut = Math.floor((low - 0.05) * 10) / 10;
    if (cut >= 0.3) {
      axis.breaks = [{ start: 0, end: cut, gap: "6%" }];
      axis.breakArea = { show: true, itemStyle: { color: "#fafafa", borderColor: "#bfbfbf" } };
    }
    return axis;
  }

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
          // Three colours are three zones: green below h/2, orange up to h, red above.
          markArea: {
            silent: true,
            data: [
              [{ yAxis: 0, itemStyle: { color: "rgba(56,158,13,.08)" } }, { yAxis: data.orange }],
              [{ yAxis: data.orange, itemStyle: { color: "rgba(212,107,8,.08)" } }, { yAxis: data.h }],
              [{ yAxis: data.h, itemStyle: { color: "rgba(212,56,13,.08)" } }, { yAxis: "max" }],
            ],
          },
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
      grid: { left: 8, right: 48, top: 32, bottom: 24, containLabel: true },
      tooltip: { trigger: "item", formatter: function (p) {
        return p.seriesName + "<br>" + l.x + " " + p.value[0] + "，" + l.y + " " + (p.value[1] * 100).toFixed(1) + "%";
      } },
      legend: { top: 0 },
      xAxis: { type: "value", name: l.x, nameLocation: "middle", nameGap: 24, scale: true, minInterval: 1 },
      yAxis: rateAxis(
        data.peers.map(function (p) { return p[1]; }).concat([data.this[1]],
          data.limits.map(function (r) { return r[3]; })),
        { name: l.y }),
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
