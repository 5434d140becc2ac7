// The grid map (网格地图): every [data-grid-map] element draws a GeoJSON FeatureCollection of
// grid areas, fetched from its data-url or read from the JSON <script> its data-source names.
// No online tiles: the polygons are registered as an ECharts map (echarts.registerMap) and
// drawn by a `geo` component; road segments are a `lines` series on it (key ones thicker),
// buildings known by a point a `scatter` series. Communities are filled with their latest
// colour (properties.fill); clicking an area opens its page (properties.url).
// Kept out of the templates so the Content-Security-Policy can forbid inline scripts.
(function () {
  var LINE = "#69b1ff", KEY_LINE = "#0958d9", BORDER = "#5b6b7f", EMPTY = "rgba(22,119,255,0.06)";

  function polygonal(f) {
    var t = f.geometry && f.geometry.type;
    return t === "Polygon" || t === "MultiPolygon";
  }

  function lineParts(geometry) {
    return geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates;
  }

  function draw(el, data) {
    var features = (data && data.features) || [];
    if (!features.length) {
      var empty = document.getElementById("grid-map-empty");
      if (empty) empty.hidden = false;
      el.hidden = true;
      return;
    }
    var byCode = {};
    features.forEach(function (f) { byCode[f.properties.code] = f; });
    // Region names must be unique: an area's code names its region.
    var shapes = features.filter(polygonal).map(function (f) {
      return { type: "Feature", geometry: f.geometry, properties: { name: f.properties.code } };
    });
    var mapName = "grid-" + (el.id || Math.random().toString(36).slice(2));
    echarts.registerMap(mapName, { type: "FeatureCollection", features: shapes });
    var regions = features.filter(polygonal).map(function (f) {
      var p = f.properties, community = p.level === "community";
      return {
        name: p.code,
        itemStyle: {
          areaColor: p.fill ? p.fill : (community ? EMPTY : "rgba(0,0,0,0)"),
          opacity: p.fill ? 0.55 : 1,
          borderColor: BORDER,
          borderWidth: community ? 1.5 : 0.6,
          borderType: community ? "solid" : "dashed",
        },
      };
    });
    var segments = [], points = [];
    features.forEach(function (f) {
      var p = f.properties, g = f.geometry;
      if (!g) return;
      if (g.type === "LineString" || g.type === "MultiLineString") {
        lineParts(g).forEach(function (coords) {
          segments.push({ name: p.code, coords: coords,
            lineStyle: { width: p.is_key ? 5 : 2, color: p.is_key ? KEY_LINE : LINE } });
        });
      } else if (g.type === "Point") {
        points.push({ name: p.code, value: g.coordinates.concat([p.households]) });
      }
    });
    // Degrees of longitude shrink with latitude: scale by cos(latitude) so shapes keep their form.
    var south = 90, north = -90;
    function collect(c) {
      if (typeof c[0] === "number") { south = Math.min(south, c[1]); north = Math.max(north, c[1]); }
      else c.forEach(collect);
    }
    features.forEach(function (f) { collect(f.geometry.coordinates); });
    var midLat = south <= north ? (south + north) / 2 : 30;
    var chart = echarts.init(el, null, { renderer: "svg" });
    function describe(params) {
      var f = byCode[params.name] || (params.data && byCode[params.data.name]);
      if (!f) return echarts.format.encodeHTML(params.name || "");
      var p = f.properties;
      return echarts.format.encodeHTML(p.name) + "<br>" + echarts.format.encodeHTML(p.level_label) +
        " · " + echarts.format.encodeHTML(p.code);
    }
    chart.setOption({
      tooltip: { trigger: "item", formatter: describe },
      geo: {
        map: mapName, roam: true, aspectScale: Math.cos(midLat * Math.PI / 180), regions: regions, triggerEvent: true, tooltip: { show: true, formatter: describe },
        label: { show: false },
        itemStyle: { areaColor: "rgba(0,0,0,0)", borderColor: BORDER },
        emphasis: { label: { show: false }, itemStyle: { areaColor: "rgba(22,119,255,0.25)" } },
        select: { disabled: true },
      },
      series: [
        { type: "lines", coordinateSystem: "geo", polyline: true, data: segments, silent: false,
          lineStyle: { opacity: 0.9 }, zlevel: 1 },
        { type: "scatter", coordinateSystem: "geo", data: points, symbolSize: 7,
          itemStyle: { color: "#595959" }, zlevel: 2 },
      ],
    });
    chart.on("click", function (params) {
      var f = byCode[params.name] || (params.data && byCode[params.data.name]);
      if (f && f.properties.url) window.location.href = f.properties.url;
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init(el) {
    if (!window.echarts) return;
    if (el.dataset.source) {
      var source = document.getElementById(el.dataset.source);
      if (source) draw(el, JSON.parse(source.textContent));
      return;
    }
    fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { draw(el, data); });
  }

  function start() { document.querySelectorAll("[data-grid-map]").forEach(init); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
