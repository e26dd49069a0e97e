/*
 * The Data Download page, live: the Generate button, Pending Tasks polled
 * while tasks run, and report links that are refreshed before they expire.
 *
 * Plain JavaScript, no build step, no dependencies. Every string shown comes
 * translated from the server (the "pr-strings" JSON script element), and every
 * value from the API is inserted as text, never as HTML.
 */
(function () {
  "use strict";

  var root = document.getElementById("pr-dashboard");
  if (!root || !window.fetch) {
    return; // the server-rendered page still works: reload to see the state
  }

  var strings = JSON.parse(document.getElementById("pr-strings").textContent);
  var tasksUrl = root.dataset.tasksUrl;
  var reportsUrl = root.dataset.reportsUrl;
  var expiryMs = Number(root.dataset.linkExpirySeconds) * 1000;
  var pollActiveMs = Number(root.dataset.pollActiveMs) || 2000;
  var pollIdleMs = Number(root.dataset.pollIdleMs) || 15000;
  // Refresh the links well before they expire: every minute, or sooner for short expiries.
  var refreshReportsMs = Math.min(60000, expiryMs / 2);
  // A link counts as expired this long before its end, so a click never races the server.
  var expiryMarginMs = Math.min(5000, expiryMs / 10);

  var button = document.getElementById("pr-generate");
  var statusRegion = document.getElementById("pr-status");
  var reportsList = document.getElementById("pr-reports");
  var tasksTable = document.getElementById("pr-tasks");
  var tasksBody = document.getElementById("pr-tasks-body");
  var noTasks = document.getElementById("pr-no-tasks");
  var csrfInput = root.querySelector("input[name=csrfmiddlewaretoken]");

  // Links on the first render were signed while the server built this page,
  // which began after the browser sent the request: navigation start is a safe bound.
  var linksDeadline = (window.performance && performance.timeOrigin ? performance.timeOrigin : Date.now()) + expiryMs;
  var activeTaskIds = currentTaskIds();
  var knownReportIds = currentReportIds();
  var tasksTimer = null;
  var reportsTimer = null;

  function fmt(template, params) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match;
    });
  }

  function announce(text) {
    statusRegion.textContent = text;
  }

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    return node;
  }

  function currentTaskIds() {
    return Array.prototype.map.call(tasksBody.querySelectorAll("tr[data-task-id]"), function (row) {
      return row.dataset.taskId;
    });
  }

  function currentReportIds() {
    return Array.prototype.map.call(reportsList.querySelectorAll("li[data-report-id]"), function (item) {
      return item.dataset.reportId;
    });
  }

  // The page's CSRF token: the form field rendered with the page, else the cookie the host
  // (an Open edX LMS) sets for its own scripts. Read at each request, so a rotated token is used.
  function csrfToken() {
    if (csrfInput && csrfInput.value) {
      return csrfInput.value;
    }
    var name = root.dataset.csrfCookieName || "csrftoken";
    var match = document.cookie.split(/;\s*/).filter(function (item) {
      return item.indexOf(name + "=") === 0;
    })[0];
    return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
    }
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  // ------------------------------------------------------------ durations, sizes, dates

  function duration(seconds) {
    if (seconds === null || seconds === undefined) {
      return "—";
    }
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) {
      return fmt(strings.seconds, { n: s });
    }
    return fmt(strings.minutes, { m: Math.floor(s / 60), s: s % 60 });
  }

  function size(bytes) {
    if (bytes < 1024) {
      return fmt(strings.bytes, { n: bytes });
    }
    if (bytes < 1024 * 1024) {
      return fmt(strings.kilobytes, { n: (bytes / 1024).toFixed(1) });
    }
    return fmt(strings.megabytes, { n: (bytes / 1024 / 1024).toFixed(1) });
  }

  function localTime(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  // ------------------------------------------------------------ Pending Tasks

  function renderTasks(tasks) {
    var rows = tasks.map(function (task) {
      var row = el("tr", null, { "data-task-id": task.id, "data-state": task.state });
      row.appendChild(el("td", task.report_type_label));
      row.appendChild(el("td", task.requester || "—"));
      var submitted = el("td");
      submitted.appendChild(el("time", localTime(task.created), { datetime: task.created }));
      row.appendChild(submitted);
      row.appendChild(el("td", task.state_label));
      row.appendChild(el("td", duration(task.duration_seconds)));
      var progressCell = el("td", null, { class: "pr-progress-cell" });
      var bar = el("progress");
      var label;
      if (task.rows_total) {
        bar.max = task.rows_total;
        bar.value = task.rows_done;
        label = fmt(strings.rows, { done: task.rows_done, total: task.rows_total });
      } else {
        label = fmt(strings.rowsUnknown, { done: task.rows_done });
      }
      bar.setAttribute("aria-label", label);
      progressCell.appendChild(bar);
      progressCell.appendChild(el("span", label));
      row.appendChild(progressCell);
      row.appendChild(el("td", task.message));
      return row;
    });
    tasksBody.replaceChildren.apply(tasksBody, rows);
    tasksTable.hidden = tasks.length === 0;
    noTasks.hidden = tasks.length !== 0;
  }

  function pollTasks() {
    clearTimeout(tasksTimer);
    return request("GET", tasksUrl).then(function (result) {
      if (result.status !== 200) {
        throw new Error(fmt(strings.requestFailed, { status: result.status }));
      }
      var tasks = result.data.tasks || [];
      var ids = tasks.map(function (task) { return String(task.id); });
      var finished = activeTaskIds.filter(function (id) { return ids.indexOf(id) === -1; });
      activeTaskIds = ids;
      renderTasks(tasks);
      if (finished.length) {
        refreshReports(true);
        reportFailures(finished);
      }
      tasksTimer = setTimeout(pollTasks, tasks.length ? pollActiveMs : pollIdleMs);
    }).catch(function () {
      tasksTimer = setTimeout(pollTasks, pollIdleMs);
    });
  }

  function reportFailures(taskIds) {
    // A task that left Pending Tasks either made a report (the list shows it) or failed: say why.
    request("GET", tasksUrl + "?active_only=false").then(function (result) {
      (result.data.tasks || []).forEach(function (task) {
        if (taskIds.indexOf(String(task.id)) !== -1 && task.state === "failed") {
          announce(fmt(strings.taskFailed, { message: task.message }));
        }
      });
    }).catch(function () {});
  }

  // ------------------------------------------------------------ reports and their links

  function renderReports(reports) {
    var items = reports.map(function (report) {
      var item = el("li", null, { class: "pr-report", "data-report-id": report.id });
      var link = el("a", report.file_name, {
        class: "pr-report-link", href: report.download_url, "data-expires-at": report.download_url_expires_at,
      });
      item.appendChild(link);
      item.appendChild(el("span", " " + fmt(strings.rowsUnknown, { done: report.row_count }) + " · " +
        size(report.size_bytes), { class: "pr-report-meta" }));
      return item;
    });
    if (!items.length) {
      items.push(el("li", strings.noReports, { class: "pr-empty" }));
    }
    reportsList.replaceChildren.apply(reportsList, items);
  }

  function renderMore(shown, total) {
    var more = document.getElementById("pr-reports-more");
    if (more) {
      more.textContent = fmt(strings.more, { shown: shown, total: total });
      more.hidden = !(total > shown);
    }
  }

  function refreshReports(announceNew) {
    clearTimeout(reportsTimer);
    var started = Date.now();
    return request("GET", reportsUrl).then(function (result) {
      if (result.status !== 200) {
        throw new Error(fmt(strings.requestFailed, { status: result.status }));
      }
      var reports = result.data.reports || [];
      var fresh = reports.filter(function (report) { return knownReportIds.indexOf(String(report.id)) === -1; });
      renderReports(reports);
      renderMore(reports.length, result.data.count || reports.length);
      knownReportIds = reports.map(function (report) { return String(report.id); });
      // Measured from when we asked, on this machine's clock: the server's clock may differ.
      linksDeadline = started + (result.data.link_expiry_seconds * 1000 || expiryMs);
      if (announceNew && fresh.length) {
        announce(fmt(strings.reportReady, { name: fresh[0].file_name }));
      }
      reportsTimer = setTimeout(refreshReports, refreshReportsMs);
    }).catch(function () {
      reportsTimer = setTimeout(refreshReports, 5000);
    });
  }

  function linksExpired() {
    return Date.now() >= linksDeadline - expiryMarginMs;
  }

  function markLinksExpired() {
    reportsList.querySelectorAll("a.pr-report-link[href]").forEach(function (link) {
      link.removeAttribute("href");
      link.setAttribute("aria-disabled", "true");
      link.classList.add("pr-expired");
      link.parentNode.insertBefore(el("span", " " + strings.expired, { class: "pr-expired-note" }), link.nextSibling);
    });
  }

  function checkExpiry() {
    if (linksExpired() && reportsList.querySelector("a.pr-report-link[href]")) {
      markLinksExpired();
      refreshReports(false);
    }
  }

  reportsList.addEventListener("click", function (event) {
    var link = event.target.closest("a.pr-report-link");
    if (link && (linksExpired() || !link.hasAttribute("href"))) {
      event.preventDefault();
      checkExpiry();
    }
  });

  // ------------------------------------------------------------ Generate

  button.addEventListener("click", function () {
    button.disabled = true;
    announce("");
    request("POST", tasksUrl, {}).then(function (result) {
      if (result.status === 202 || result.status === 409) {
        announce(result.data.message || button.dataset.generateMessage);
        // Track the task even if it finishes before the next poll, so its report is fetched then.
        if (result.data.task && activeTaskIds.indexOf(String(result.data.task.id)) === -1) {
          activeTaskIds.push(String(result.data.task.id));
        }
      } else {
        announce(result.data.message || result.data.detail || fmt(strings.requestFailed, { status: result.status }));
      }
      return pollTasks();
    }).catch(function () {
      announce(strings.networkError);
    }).then(function () {
      button.disabled = false;
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      checkExpiry();
      pollTasks();
    }
  });

  setInterval(checkExpiry, 1000);
  checkExpiry();
  reportsTimer = setTimeout(refreshReports, refreshReportsMs);
  tasksTimer = setTimeout(pollTasks, activeTaskIds.length ? pollActiveMs : pollIdleMs);
})();
