// Draws every <div class="chart" data-chart="..."> with Apache ECharts (static/vendor/
// echarts.min.js). The attribute holds the chart's ECharts option as JSON, or a
// same-origin URL that answers it. Charts in content htmx swaps in are drawn too. The
// numbers are also in a table beside each chart, so nothing is lost without JavaScript.
(function () {
  'use strict';

  function option(el) {
    var source = el.getAttribute('data-chart').trim();
    if (source.charAt(0) === '{') {
      return Promise.resolve(JSON.parse(source));
    }
    return fetch(source, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.json(); });
  }

  function draw(el) {
    if (el.getAttribute('data-chart-drawn') || typeof echarts === 'undefined') {
      return;
    }
    el.setAttribute('data-chart-drawn', 'true');
    option(el).then(function (opt) {
      var chart = echarts.init(el);
      chart.setOption(opt);
      el.classList.add('chart-ready');
      if (typeof ResizeObserver !== 'undefined') {
        new ResizeObserver(function () { chart.resize(); }).observe(el);
      }
    }).catch(function (err) {
      console.error('chart', el.id, err);
    });
  }

  function drawAll(root) {
    var charts = root.querySelectorAll ? root.querySelectorAll('.chart[data-chart]') : [];
    Array.prototype.forEach.call(charts, draw);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { drawAll(document); });
  } else {
    drawAll(document);
  }
  document.addEventListener('htmx:load', function (event) { drawAll(event.target); });
}());
