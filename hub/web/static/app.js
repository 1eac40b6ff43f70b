/* The hub's page: draws each city's trend (uPlot) once the numbers are on screen.
   Everything the page says is already in the HTML; this only adds the small multiples. */
(function () {
  "use strict";
  var box = document.getElementById("trends");
  if (!box || !window.uPlot || !window.fetch) {
    return;
  }
  var lang = document.documentElement.lang || "en";
  var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  var dayFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short" });
  var hourFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  var charts = [];

  function chartWidth(element) {
    return Math.max(200, Math.floor(element.getBoundingClientRect().width));
  }

  function draw(data) {
    var top = 0;
    var bottom = Infinity;
    data.cities.forEach(function (city) {
      city.values.forEach(function (value) {
        top = Math.max(top, value);
        bottom = Math.min(bottom, value);
      });
    });
    if (data.guideline) {
      top = Math.max(top, data.guideline.value);
    }
    bottom = bottom === Infinity || bottom > 0 ? 0 : bottom;
    var span = (Date.parse(data.to) - Date.parse(data.from)) / 1000;
    var timeFormat = span <= 2 * 86400 ? hourFormat : dayFormat;
    var range = [bottom, top > bottom ? top * 1.05 : bottom + 1];

    data.cities.forEach(function (city) {
      var holder = box.querySelector('.trend[data-city="' + city.city + '"] .chart');
      if (!holder) {
        return;
      }
      if (!city.times.length) {
        holder.textContent = box.getAttribute("data-empty");
        return;
      }
      var series = [
        {},
        { label: city.name, stroke: "#1f4e79", width: 2, fill: "rgba(31, 78, 121, 0.10)", points: { show: false } }
      ];
      var rows = [city.times, city.values];
      if (data.guideline) {
        series.push({ label: data.guideline.label, stroke: "#a34b00", width: 1.5, dash: [6, 4], points: { show: false } });
        rows.push(city.times.map(function () { return data.guideline.value; }));
      }
      var options = {
        width: chartWidth(holder),
        height: 150,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: range } },
        axes: [
          {
            space: 70,
            size: 32,
            values: function (_u, splits) {
              return splits.map(function (s) { return timeFormat.format(new Date(s * 1000)); });
            }
          },
          {
            size: 44,
            values: function (_u, splits) {
              return splits.map(function (v) { return number.format(v); });
            }
          }
        ],
        series: series
      };
      charts.push({ plot: new window.uPlot(options, rows, holder), holder: holder });
    });
    box.classList.add("drawn");
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      charts.forEach(function (chart) {
        chart.plot.setSize({ width: chartWidth(chart.holder), height: 150 });
      });
    }, 150);
  });

  fetch(box.getAttribute("data-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(draw)
    .catch(function () {
      box.classList.add("failed");
    });
})();
