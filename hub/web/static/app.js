/* The hub's page: draws each city's trend (uPlot) once the numbers are on screen.
   Everything the page says is already in the HTML; this only adds the small multiples. */
(function () {
  "use strict";
  var box = document.getElementById("trends");
  if (!box || !window.uPlot || !window.fetch) {
    return;
  }
  var charts = [];

  /* Axis labels in the page's language, from the CLDR data the hub sends (browsers lack some locales). */
  function formatDate(pattern, date, months) {
    return pattern.replace(/'[^']*'|d+|M+|H+|m+/g, function (token) {
      var value;
      if (token.charAt(0) === "'") {
        return token.slice(1, -1);
      }
      switch (token.charAt(0)) {
        case "d": value = date.getDate(); break;
        case "M":
          if (token.length >= 3) {
            return months[date.getMonth()];
          }
          value = date.getMonth() + 1;
          break;
        case "H": value = date.getHours(); break;
        default: value = date.getMinutes();
      }
      return token.length === 2 && value < 10 ? "0" + value : String(value);
    });
  }

  function formatNumber(value, format) {
    var rounded = Math.round(value * 10) / 10;
    var parts = Math.abs(rounded).toFixed(rounded % 1 === 0 ? 0 : 1).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, format.group);
    return (rounded < 0 ? "\u2212" : "") + whole + (parts.length > 1 ? format.decimal + parts[1] : "");
  }

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
    var format = data.format;
    var datePattern = span <= 2 * 86400 ? format.time : format.day;
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
              return splits.map(function (s) { return formatDate(datePattern, new Date(s * 1000), format.months); });
            }
          },
          {
            size: 44,
            values: function (_u, splits) {
              return splits.map(function (v) { return formatNumber(v, format); });
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
