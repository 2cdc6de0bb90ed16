// The reports page (server/src/analytics/page.rs): sortable tables and recording a process
// change. Optional: without it every number still reads.
'use strict';

// A click on a column's button sorts by it, toggling the direction. Cells carrying data-v sort
// by that number; others by their text.
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th button').forEach(function (button, column) {
    button.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.from(body.rows);
      var dir = button.dataset.dir === 'd' ? 1 : -1;
      button.dataset.dir = dir === 1 ? 'a' : 'd';
      rows.sort(function (x, y) {
        var a = x.cells[column], b = y.cells[column];
        if (a.dataset.v !== undefined && b.dataset.v !== undefined) {
          return dir * (parseFloat(a.dataset.v) - parseFloat(b.dataset.v));
        }
        return dir * a.textContent.localeCompare(b.textContent);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});

// "Record change": POST /api/analytics/changes, then reload to show its before/after.
var form = document.getElementById('change-form');
if (form) {
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var message = document.getElementById('change-msg');
    fetch('/api/analytics/changes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: form.name.value, changed_on: form.changed_on.value }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok) {
          location.reload();
        } else {
          message.textContent = body.error.message;
        }
      });
    }).catch(function () {
      message.textContent = 'Could not reach the server; try again when online.';
    });
  });
}

// A chart's point, tapped or focused, says its value in the chart's caption (a phone has no
// hover, so the SVG title alone would never show).
document.querySelectorAll('figure').forEach(function (figure) {
  var caption = figure.querySelector('.tap-value');
  if (!caption) return;
  figure.querySelectorAll('.tap').forEach(function (point) {
    var show = function () {
      figure.querySelectorAll('.tap.on').forEach(function (p) { p.classList.remove('on'); });
      point.classList.add('on');
      caption.textContent = point.dataset.label;
    };
    point.addEventListener('click', show);
    point.addEventListener('focus', show);
  });
});
